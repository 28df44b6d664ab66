#pragma once
#include <cstdint>
#include <functional>

namespace flowmatch::native {

// Runs body(part, begin, end) on `parts` consecutive shares of rows 0 .. rows - 1, one per thread
// of OpenMP's pool (the pool LibTorch uses too), and returns when all are done; one part runs on
// the calling thread alone. Each thread calls the BLAS on its own rows, so the BLAS must run
// single-threaded meanwhile (core/threads.h: Workload::NativeKernels).
void split_rows(int64_t rows, int parts, const std::function<void(int part, int64_t begin, int64_t end)>& body);

// How many parts `rows` rows split into on `threads` threads, each at least `min_rows` rows.
int row_parts(int64_t rows, int threads, int64_t min_rows);

}  // namespace flowmatch::native
