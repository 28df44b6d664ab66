#pragma once
// FLOWMATCH_VECTORISED before a loop's function compiles it twice, for AVX2 and for the baseline
// x86-64, and the loader picks one by the CPU's features (GCC's function multiversioning).
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define FLOWMATCH_VECTORISED __attribute__((target_clones("avx2", "default")))
#else
#define FLOWMATCH_VECTORISED
#endif
