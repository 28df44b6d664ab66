#include "flowmatch/dist/world_info.h"

#include <cstdlib>

#include "flowmatch/core/error.h"

namespace flowmatch {

namespace {
// One launcher's names for the four numbers.
struct RankVariables {
  const char* launcher;
  const char *rank, *world_size, *local_rank, *local_world_size;
};

constexpr RankVariables kLaunchers[] = {
    {"torchrun", "RANK", "WORLD_SIZE", "LOCAL_RANK", "LOCAL_WORLD_SIZE"},
    {"slurm", "SLURM_PROCID", "SLURM_NTASKS", "SLURM_LOCALID", "SLURM_NTASKS_PER_NODE"},
    {"openmpi", "OMPI_COMM_WORLD_RANK", "OMPI_COMM_WORLD_SIZE", "OMPI_COMM_WORLD_LOCAL_RANK", "OMPI_COMM_WORLD_LOCAL_SIZE"},
    {"pmi", "PMI_RANK", "PMI_SIZE", "MPI_LOCALRANKID", "MPI_LOCALNRANKS"},
};

// The variable as an integer in [low, high]; `fallback` when it is unset and optional.
int integer(const EnvironmentLookup& lookup, const char* name, int low, int high, const int* fallback = nullptr) {
  const char* text = lookup(name);
  if (!text || !*text) {
    if (fallback) return *fallback;
    throw Error(std::string("the environment sets a rank but not ") + name);
  }
  char* end = nullptr;
  long value = std::strtol(text, &end, 10);
  if (*end != '\0' || value < low || value > high)
    throw Error(std::string(name) + "=" + text + " is not an integer in [" + std::to_string(low) + ", " +
                std::to_string(high) + "]");
  return int(value);
}
}  // namespace

WorldInfo world_from_environment(const EnvironmentLookup& lookup) {
  WorldInfo world;
  const RankVariables* found = nullptr;
  for (const auto& names : kLaunchers)
    if (lookup(names.rank)) {
      found = &names;
      break;
    }
  if (!found) return world;
  constexpr int kMaxRanks = 1 << 20;
  world.launcher = found->launcher;
  world.world_size = integer(lookup, found->world_size, 1, kMaxRanks);
  world.rank = integer(lookup, found->rank, 0, world.world_size - 1);
  int zero = 0;
  world.local_rank = integer(lookup, found->local_rank, 0, world.world_size - 1, &zero);
  // SLURM writes tasks per node as "2(x3)" on uneven allocations: the leading count is this node's.
  std::string per_node = lookup(found->local_world_size) ? lookup(found->local_world_size) : "";
  per_node = per_node.substr(0, per_node.find('('));
  world.local_world_size = integer([&](const char*) { return per_node.c_str(); }, found->local_world_size, 1,
                                   world.world_size, &world.world_size);
  if (!world.distributed()) return world;
  const char* addr = lookup("MASTER_ADDR");
  if (!addr || !*addr)
    throw Error(std::string("the environment starts ") + std::to_string(world.world_size) + " processes (" +
                found->world_size + ") but sets no MASTER_ADDR: export the host of rank 0 (see docs/distributed.md)");
  world.master_addr = addr;
  world.master_port = integer(lookup, "MASTER_PORT", 1, 65535);
  return world;
}

}  // namespace flowmatch
