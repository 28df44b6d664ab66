#pragma once
#include <string>

namespace flowmatch {

// OpenBLAS picks its kernels once, as it loads, by the CPU's family and model number. A CPU it does
// not know gets its SSE3 kernels ("Prescott") even when the CPU has AVX2 or AVX-512: the virtual
// machines here, which call themselves "Intel(R) Xeon(R) Processor", sampled the seed-mlp 2.4x
// faster with OPENBLAS_CORETYPE=Haswell (AVX2) and 3.5x faster with SkylakeX (AVX-512).

// The OPENBLAS_CORETYPE this process should have, or "" when OpenBLAS's own choice stands: it runs
// AVX2 kernels already, the CPU has no AVX2 and FMA, the user set OPENBLAS_CORETYPE, or the BLAS is
// not OpenBLAS.
std::string better_blas_core();

// The kernels OpenBLAS runs ("SkylakeX", "Haswell", ...), or "" for another BLAS.
std::string blas_core();

// Re-executes this program (argv as given) with OPENBLAS_CORETYPE = better_blas_core(), the only way
// to change kernels OpenBLAS chose before main; returns when that is "" or the exec fails.
void use_best_blas_kernels(char** argv);

}  // namespace flowmatch
