#pragma once

namespace flowmatch {

// Uses `threads` compute threads (0 = one per core). When LibTorch's BLAS is OpenBLAS, its
// pthreads and LibTorch's OpenMP pool fight over the cores (measured here: batch 512 trains at
// 15 it/s with both at 2 threads, 39 it/s with OpenBLAS at 2 and OpenMP at 1), so the GEMMs get
// the threads and the element-wise ops run on one. Returns the thread count used.
int set_compute_threads(int threads);

}  // namespace flowmatch
