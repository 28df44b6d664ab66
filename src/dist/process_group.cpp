#include "flowmatch/dist/process_group.h"

#include <torch/torch.h>

#include <thread>

#include "flowmatch/core/error.h"

#ifdef USE_C10D_GLOO
#include <arpa/inet.h>
#include <netdb.h>
#include <sys/socket.h>
#include <unistd.h>
#include <torch/csrc/distributed/c10d/PrefixStore.hpp>
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#endif

namespace flowmatch {

#ifdef USE_C10D_GLOO
struct ProcessGroup::Impl {
  c10::intrusive_ptr<c10d::Store> store;
  c10::intrusive_ptr<c10d::ProcessGroupGloo> gloo;
};

namespace {
// An exception's message; c10's without the C++ backtrace it carries.
std::string message_of(const std::exception& e) {
  auto* c10_error = dynamic_cast<const c10::Error*>(&e);
  return c10_error ? c10_error->what_without_backtrace() : e.what();
}

// The local address of the route to `host`: connecting a UDP socket sends nothing but picks the
// interface, so every rank announces an address its peers can reach (also inside a network namespace).
std::string address_towards(const std::string& host, int port) {
  addrinfo hints{}, *found = nullptr;
  hints.ai_family = AF_INET;
  hints.ai_socktype = SOCK_DGRAM;
  if (getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &found) != 0 || !found)
    throw Error("cannot resolve MASTER_ADDR=" + host);
  int fd = socket(AF_INET, SOCK_DGRAM, 0);
  sockaddr_in local{};
  socklen_t length = sizeof local;
  bool ok = fd >= 0 && connect(fd, found->ai_addr, found->ai_addrlen) == 0 &&
            getsockname(fd, reinterpret_cast<sockaddr*>(&local), &length) == 0;
  if (fd >= 0) close(fd);
  freeaddrinfo(found);
  if (!ok) throw Error("no route from this machine to MASTER_ADDR=" + host);
  char text[INET_ADDRSTRLEN];
  inet_ntop(AF_INET, &local.sin_addr, text, sizeof text);
  return text;
}
}  // namespace

std::unique_ptr<ProcessGroup> ProcessGroup::join(const WorldInfo& world, std::chrono::milliseconds timeout) {
  auto impl = std::make_unique<Impl>();
  std::string where = world.master_addr + ":" + std::to_string(world.master_port);
  try {
    // torchrun's agent already holds the store at MASTER_ADDR:MASTER_PORT and says so; every rank
    // then joins it as a client, under the "/worker" prefix its workers use (as PyTorch's env:// does).
    const char* agent_store = std::getenv("TORCHELASTIC_USE_AGENT_STORE");
    bool joins_agent = agent_store && std::string(agent_store) == "True";
    c10d::TCPStoreOptions options;
    options.port = uint16_t(world.master_port);
    options.isServer = world.rank == 0 && !joins_agent;
    options.numWorkers = size_t(world.world_size);
    options.waitWorkers = !joins_agent;
    options.timeout = timeout;
    impl->store = c10::make_intrusive<c10d::TCPStore>(world.master_addr, options);
    if (joins_agent) impl->store = c10::make_intrusive<c10d::PrefixStore>("/worker", impl->store);
    auto gloo_options = c10d::ProcessGroupGloo::Options::create(timeout);
    const char* interface = std::getenv("GLOO_SOCKET_IFNAME");
    gloo_options->devices.push_back(
        interface && *interface ? c10d::ProcessGroupGloo::createDeviceForInterface(interface)
                                : c10d::ProcessGroupGloo::createDeviceForHostname(
                                      address_towards(world.master_addr, world.master_port)));
    impl->gloo = c10::make_intrusive<c10d::ProcessGroupGloo>(impl->store, world.rank, world.world_size, gloo_options);
  } catch (const Error&) {
    throw;
  } catch (const std::exception& e) {
    throw Error("rank " + std::to_string(world.rank) + " could not join the " + std::to_string(world.world_size) +
                "-process job at " + where + " within " + std::to_string(timeout.count() / 1000) + " s: " + message_of(e));
  }
  return std::unique_ptr<ProcessGroup>(new ProcessGroup(world, std::move(impl)));
}

void ProcessGroup::broadcast(std::vector<at::Tensor>& tensors, int root, const std::string& what) {
  try {
    c10d::BroadcastOptions options;
    options.rootRank = root;
    for (auto& tensor : tensors) {
      std::vector<at::Tensor> one{tensor};
      impl_->gloo->broadcast(one, options)->wait();
    }
  } catch (const std::exception& e) {
    fail(what, e);
  }
}

void ProcessGroup::all_reduce_sum(std::vector<at::Tensor>& tensors, const std::string& what) {
  try {
    impl_->gloo->allreduce(tensors)->wait();
  } catch (const std::exception& e) {
    fail(what, e);
  }
}

std::function<void()> ProcessGroup::start_all_reduce_sum(at::Tensor flat, const std::string& what) {
  c10::intrusive_ptr<c10d::Work> work;
  try {
    std::vector<at::Tensor> one{flat};
    work = impl_->gloo->allreduce(one);
  } catch (const std::exception& e) {
    fail(what, e);
  }
  return [this, work, what] {
    try {
      work->wait();
    } catch (const std::exception& e) {
      fail(what, e);
    }
  };
}

void ProcessGroup::publish(const std::string& key, const std::string& bytes) {
  try {
    impl_->store->set(key, std::vector<uint8_t>(bytes.begin(), bytes.end()));
  } catch (const std::exception& e) {
    fail("sending " + key, e);
  }
}

std::string ProcessGroup::receive(const std::string& key) {
  try {
    std::vector<uint8_t> bytes = impl_->store->get(key);
    return std::string(bytes.begin(), bytes.end());
  } catch (const std::exception& e) {
    fail("waiting for " + key, e);
  }
}

void ProcessGroup::remove(const std::string& key) {
  try {
    impl_->store->deleteKey(key);
  } catch (const std::exception& e) {
    fail("removing " + key, e);
  }
}

void ProcessGroup::fail(const std::string& what, const std::exception& cause) {
  std::string me = "rank " + std::to_string(rank()) + ": " + what + " failed (" + message_of(cause) + "); ";
  std::string silent;
  try {
    impl_->store->setTimeout(std::chrono::seconds(5));
    impl_->store->set("failed/" + std::to_string(rank()), std::vector<uint8_t>{1});
    // The other survivors see the same failure within moments: wait for them to report too.
    std::this_thread::sleep_for(std::chrono::seconds(2));
    for (int r = 0; r < size(); ++r)
      if (!impl_->store->check({"failed/" + std::to_string(r)})) silent += (silent.empty() ? "" : ", ") + std::to_string(r);
  } catch (const std::exception&) {
    throw Error(me + "the rendezvous store at " + world_.master_addr + ":" + std::to_string(world_.master_port) +
                " is unreachable: rank 0 (or the launcher holding the store) stopped, or the network to it is gone");
  }
  if (silent.empty()) throw Error(me + "every rank reported a failure");
  throw Error(me + "no answer from rank " + silent + " (stopped, killed, or cut off)");
}
#else
struct ProcessGroup::Impl {};

std::unique_ptr<ProcessGroup> ProcessGroup::join(const WorldInfo&, std::chrono::milliseconds) {
  throw Error("multi-process training needs LibTorch's Gloo backend: install libgloo-dev and rebuild flowmatch");
}
void ProcessGroup::broadcast(std::vector<at::Tensor>&, int, const std::string&) {}
void ProcessGroup::all_reduce_sum(std::vector<at::Tensor>&, const std::string&) {}
std::function<void()> ProcessGroup::start_all_reduce_sum(at::Tensor, const std::string&) { return [] {}; }
void ProcessGroup::publish(const std::string&, const std::string&) {}
std::string ProcessGroup::receive(const std::string&) { return ""; }
void ProcessGroup::remove(const std::string&) {}
void ProcessGroup::fail(const std::string& what, const std::exception& cause) { throw Error(what + ": " + cause.what()); }
#endif

ProcessGroup::ProcessGroup(WorldInfo world, std::unique_ptr<Impl> impl) : world_(std::move(world)), impl_(std::move(impl)) {}
ProcessGroup::~ProcessGroup() = default;

}  // namespace flowmatch
