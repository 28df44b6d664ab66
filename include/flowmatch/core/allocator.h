#pragma once

namespace flowmatch {

// Keeps freed tensor memory in the process instead of handing it back to the kernel. glibc serves
// blocks above its mmap threshold (128 KiB at first) with fresh mmap'd pages and unmaps them on
// free, so every activation of a training step or sampling stage page-faults anew. Raising the
// threshold to glibc's maximum (32 MiB) and the trim threshold to 1 GiB measured here: training at
// batch 512 from 38 to 58 steps/s, sampling 5000 points with 100 evaluations from 17.7 s to 5.5 s.
void keep_freed_memory();

}  // namespace flowmatch
