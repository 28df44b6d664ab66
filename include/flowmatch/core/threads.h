#pragma once

namespace flowmatch {

// Where a job spends its time, which decides who gets the cores.
enum class Workload {
  MatrixProducts,  // MLPs: GEMMs through OpenBLAS
  Convolutions,    // image models: oneDNN convolutions in LibTorch's own OpenMP pool
  NativeKernels,   // the native engine (model/engine.h): OpenMP threads that each call the BLAS, or oneDNN
};

// Uses `threads` compute threads (0 = one per core). When LibTorch's BLAS is OpenBLAS, its
// pthreads and LibTorch's OpenMP pool fight over the cores: idle OpenBLAS threads spin in
// sched_yield. So one pool gets the threads and the other runs on one:
// - MatrixProducts: OpenBLAS gets them (measured here: batch 512 trains at 15 it/s with both at
//   2 threads, 39 it/s with OpenBLAS at 2 and OpenMP at 1);
// - Convolutions: OpenMP gets them (the default unet, batch 64: 1.9 it/s with OpenBLAS at 2 and
//   OpenMP at 1, 3.3 it/s the other way round);
// - NativeKernels: OpenMP gets them too, and each of its threads calls a single-threaded BLAS on
//   its own rows.
// Returns the thread count used.
int set_compute_threads(int threads, Workload workload = Workload::MatrixProducts);

// For work that splits itself into one task per core (the folds of a C2ST): while it lives,
// LibTorch's OpenMP pool and OpenBLAS run on one thread each, so the tasks' small products do not
// spin against each other; the counts set before come back when it ends.
class OneThreadPerTask {
 public:
  OneThreadPerTask();
  ~OneThreadPerTask();
  OneThreadPerTask(const OneThreadPerTask&) = delete;
  OneThreadPerTask& operator=(const OneThreadPerTask&) = delete;
  // How many tasks to run at once: the larger of the two pools' thread counts before.
  int tasks() const;

 private:
  int torch_threads_, blas_threads_;
};

}  // namespace flowmatch
