#pragma once
#include <functional>
#include <string>

namespace flowmatch {

// Where this process stands in a multi-process job: its rank among world_size processes, its rank
// on this machine, and the address of rank 0's rendezvous store.
struct WorldInfo {
  int rank = 0, world_size = 1, local_rank = 0, local_world_size = 1;
  std::string master_addr;
  int master_port = 0;
  std::string launcher;  // where the ranks came from: "torchrun", "slurm", "openmpi", "pmi", or "" (one process)

  bool distributed() const { return world_size > 1; }
};

using EnvironmentLookup = std::function<const char*(const char*)>;

// Reads the job from the environment, as PyTorch does:
// - RANK, WORLD_SIZE, LOCAL_RANK, LOCAL_WORLD_SIZE (torchrun, or set by hand),
// - else SLURM_PROCID, SLURM_NTASKS, SLURM_LOCALID, SLURM_NTASKS_PER_NODE (srun),
// - else OMPI_COMM_WORLD_RANK/_SIZE/_LOCAL_RANK/_LOCAL_SIZE (Open MPI's mpirun),
// - else PMI_RANK, PMI_SIZE, MPI_LOCALRANKID, MPI_LOCALNRANKS (MPICH's mpiexec);
// and MASTER_ADDR and MASTER_PORT, which every multi-process job needs. No rank variables at all
// means one process. Throws Error naming the variable that is missing or out of range.
WorldInfo world_from_environment(const EnvironmentLookup& lookup = [](const char* name) { return std::getenv(name); });

}  // namespace flowmatch
