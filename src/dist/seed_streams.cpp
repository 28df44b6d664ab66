#include "flowmatch/dist/seed_streams.h"

#include <torch/torch.h>

#include <mutex>

#include "flowmatch/core/error.h"
#include "flowmatch/dist/process_group.h"
#include "flowmatch/io/safetensors.h"

namespace flowmatch {

namespace {
at::Tensor state_of(at::Generator& gen) {
  std::lock_guard<std::mutex> lock(gen.mutex());
  return gen.get_state();
}
}  // namespace

int64_t shard_count(int64_t requested, int64_t saved, int world_size, int64_t batch) {
  int64_t shards = saved > 0 ? std::max<int64_t>(saved, world_size) : requested > 0 ? requested : world_size;
  if (shards < world_size)
    throw Error("--shards " + std::to_string(shards) + " is fewer than the " + std::to_string(world_size) +
                " processes: every process needs a shard of the batch");
  if (batch % shards != 0)
    throw Error("--batch " + std::to_string(batch) + " does not split into " + std::to_string(shards) +
                " equal shards (one or more per process); choose a multiple of " + std::to_string(shards));
  return shards;
}

SeedStreams::SeedStreams(at::Generator first, int64_t shards, int rank, int world_size) {
  uint64_t seed = first.current_seed();
  generators_.push_back(std::move(first));
  for (int64_t k = 1; k < shards; ++k)
    generators_.push_back(at::make_generator<at::CPUGeneratorImpl>(seed + uint64_t(k) * 0x9E3779B97F4A7C15ULL));
  for (int64_t k = rank; k < shards; k += world_size) own_.push_back(k);
}

void SeedStreams::restore(const std::vector<at::Tensor>& states) {
  for (size_t k = 0; k < states.size() && k < generators_.size(); ++k) {
    std::lock_guard<std::mutex> lock(generators_[k].mutex());
    generators_[k].set_state(states[k]);
  }
}

std::vector<at::Tensor> SeedStreams::gather_states(ProcessGroup* group, const std::string& tag) {
  std::vector<at::Tensor> states(generators_.size());
  for (int64_t k : own_) states[size_t(k)] = state_of(generators_[size_t(k)]);
  if (!group) return states;
  auto key = [&](size_t k) { return tag + "/" + std::to_string(k); };
  if (group->rank() != 0) {
    for (int64_t k : own_) {
      at::Tensor state = states[size_t(k)].contiguous();
      group->publish(key(size_t(k)), std::string(static_cast<const char*>(state.data_ptr()), size_t(state.nbytes())));
    }
    return {};
  }
  for (size_t k = 0; k < states.size(); ++k) {
    if (states[k].defined()) continue;
    std::string bytes = group->receive(key(k));
    group->remove(key(k));
    states[k] = bytes_tensor(bytes);
  }
  return states;
}

}  // namespace flowmatch
