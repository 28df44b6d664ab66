#include "flowmatch/core/threads.h"

#include <dlfcn.h>
#include <torch/torch.h>

#include <algorithm>
#include <thread>

namespace flowmatch {

namespace {
// OpenBLAS's thread-count functions, looked up at run time: a LibTorch built on MKL (the pip wheels)
// has no OpenBLAS to tune, and then these are null.
using SetThreads = void (*)(int);
using GetThreads = int (*)();
SetThreads openblas_set_threads() { return reinterpret_cast<SetThreads>(dlsym(RTLD_DEFAULT, "openblas_set_num_threads")); }
GetThreads openblas_get_threads() { return reinterpret_cast<GetThreads>(dlsym(RTLD_DEFAULT, "openblas_get_num_threads")); }
}  // namespace

int set_compute_threads(int threads, Workload workload) {
  int n = threads > 0 ? threads : int(std::max(1u, std::thread::hardware_concurrency()));
  SetThreads openblas_set_num_threads = openblas_set_threads();
  if (openblas_set_num_threads) {
    bool gemm = workload == Workload::MatrixProducts;
    openblas_set_num_threads(gemm ? n : 1);
    at::set_num_threads(gemm ? 1 : n);
  } else {
    at::set_num_threads(n);
  }
  return n;
}

OneThreadPerTask::OneThreadPerTask() : torch_threads_(at::get_num_threads()), blas_threads_(0) {
  GetThreads get = openblas_get_threads();
  SetThreads set = openblas_set_threads();
  if (get && set) {
    blas_threads_ = get();
    set(1);
  }
  at::set_num_threads(1);
}

OneThreadPerTask::~OneThreadPerTask() {
  if (SetThreads set = openblas_set_threads(); set && blas_threads_ > 0) set(blas_threads_);
  at::set_num_threads(torch_threads_);
}

int OneThreadPerTask::tasks() const { return std::max(torch_threads_, blas_threads_); }

}  // namespace flowmatch
