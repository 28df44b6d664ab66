#pragma once
#include <ATen/core/Tensor.h>

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "flowmatch/dist/world_info.h"

namespace flowmatch {

// The processes of one job, joined through PyTorch's c10d: a TCPStore at MASTER_ADDR:MASTER_PORT
// (hosted by rank 0, or by torchrun's agent) for the rendezvous and small messages, and a Gloo process group for the
// collectives on CPU tensors. One timeout bounds the rendezvous and every later wait. Any failure
// (a rank that died, a network gone, a timeout) throws Error naming this rank, what it was doing,
// and the ranks that did not answer.
class ProcessGroup {
 public:
  // Blocks until all world.world_size ranks have arrived, or throws after `timeout`. Gloo sends
  // from GLOO_SOCKET_IFNAME's address when that is set, else from the address this machine uses
  // to reach MASTER_ADDR. Throws Error when flowmatch was built without Gloo.
  static std::unique_ptr<ProcessGroup> join(const WorldInfo& world, std::chrono::milliseconds timeout);
  ~ProcessGroup();

  int rank() const { return world_.rank; }
  int size() const { return world_.world_size; }

  // Collectives, in place, on every rank in the same order; `what` names the step in errors.
  void broadcast(std::vector<at::Tensor>& tensors, int root, const std::string& what);
  void all_reduce_sum(std::vector<at::Tensor>& tensors, const std::string& what);
  // Starts a sum of `flat` (contiguous) in the background; call the returned function to wait.
  std::function<void()> start_all_reduce_sum(at::Tensor flat, const std::string& what);

  // Messages through the store: `publish` sets a key; `receive` blocks until it is set; `remove` deletes it.
  void publish(const std::string& key, const std::string& bytes);
  std::string receive(const std::string& key);
  void remove(const std::string& key);

 private:
  struct Impl;
  ProcessGroup(WorldInfo world, std::unique_ptr<Impl> impl);
  // Reports this rank's failure through the store, waits briefly for the other survivors to do the
  // same, and throws Error naming the ranks that stayed silent.
  [[noreturn]] void fail(const std::string& what, const std::exception& cause);

  WorldInfo world_;
  std::unique_ptr<Impl> impl_;
};

}  // namespace flowmatch
