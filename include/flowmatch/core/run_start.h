#pragma once
#include <ATen/core/Generator.h>

#include <cstdint>

#include "flowmatch/core/threads.h"

namespace flowmatch {

// What every job does before its work, so that the same seed, inputs and thread count give the same
// bytes: keeps freed memory (allocator.h), shares `threads` compute threads (0 = one per core) as
// `workload` wants (threads.h), seeds torch's global generator (weight initialisation) with `seed`,
// and returns a generator seeded with `seed` for the job's own draws (data, noise, times).
at::Generator start_run(uint64_t seed, int threads = 0, Workload workload = Workload::MatrixProducts);

}  // namespace flowmatch
