#pragma once
#include <ATen/core/Generator.h>
#include <ATen/core/Tensor.h>

#include <vector>

namespace flowmatch {

class ProcessGroup;

// How many seed streams a run of `world_size` processes draws `batch` from: `saved`, when resuming a
// state that has them (raised to world_size, adding fresh streams, when there are more processes),
// else `requested` (0 = one per process). Throws Error when a new run has fewer than world_size,
// or when the batch does not split into equal shards.
int64_t shard_count(int64_t requested, int64_t saved, int world_size, int64_t batch);

// Every training step's batch is drawn as S shards of batch / S rows, each shard from its own
// generator: its seed stream. The processes of a job split the shards, rank r drawing shards
// r, r + W, r + 2W, ... of S. So a run draws the same rows, noise and times whatever the number of
// processes, and one process with S shards repeats S processes (up to the order of floating-point
// sums). Shard 0 draws from the run's generator; shard k > 0 from a generator seeded with the run's
// seed + k * 0x9E3779B97F4A7C15 (odd, so the low 32 bits mt19937 keeps differ for every k < 2^32).
class SeedStreams {
 public:
  SeedStreams(at::Generator first, int64_t shards, int rank, int world_size);

  int64_t shards() const { return int64_t(generators_.size()); }
  // This rank's shards, in order, with their generators.
  const std::vector<int64_t>& own() const { return own_; }
  at::Generator& generator(int64_t shard) { return generators_[size_t(shard)]; }

  // Continues from saved states (shard k from states[k]): shards beyond the saved ones keep their
  // fresh seeds.
  void restore(const std::vector<at::Tensor>& states);
  // Every shard's state on rank 0 (shard order), sent there through the group's store under
  // `tag`; other ranks get an empty list. Without a group, this process's states.
  std::vector<at::Tensor> gather_states(ProcessGroup* group, const std::string& tag);

 private:
  std::vector<at::Generator> generators_;
  std::vector<int64_t> own_;
};

}  // namespace flowmatch
