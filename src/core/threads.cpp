#include "flowmatch/core/threads.h"

#include <dlfcn.h>
#include <torch/torch.h>

#include <algorithm>
#include <thread>

namespace flowmatch {

int set_compute_threads(int threads, Workload workload) {
  int n = threads > 0 ? threads : int(std::max(1u, std::thread::hardware_concurrency()));
  // Looked up at run time: a LibTorch built on MKL (the pip wheels) has no OpenBLAS to tune.
  using SetThreads = void (*)(int);
  auto openblas_set_num_threads = reinterpret_cast<SetThreads>(dlsym(RTLD_DEFAULT, "openblas_set_num_threads"));
  if (openblas_set_num_threads) {
    bool gemm = workload == Workload::MatrixProducts;
    openblas_set_num_threads(gemm ? n : 1);
    at::set_num_threads(gemm ? 1 : n);
  } else {
    at::set_num_threads(n);
  }
  return n;
}

}  // namespace flowmatch
