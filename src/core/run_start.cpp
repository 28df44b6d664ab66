#include "flowmatch/core/run_start.h"

#include <torch/torch.h>

#include "flowmatch/core/allocator.h"

namespace flowmatch {

at::Generator start_run(uint64_t seed, int threads, Workload workload) {
  keep_freed_memory();
  set_compute_threads(threads, workload);
  torch::manual_seed(seed);
  return at::make_generator<at::CPUGeneratorImpl>(seed);
}

}  // namespace flowmatch
