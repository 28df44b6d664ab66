// Multi-process training: the job's environment, equivalence with one process, a killed rank, a
// resumed run on another number of processes, and two ranks in two network namespaces.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <torch/torch.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <thread>

#include "flowmatch/dist/gradient_buckets.h"
#include "flowmatch/dist/process_group.h"
#include "flowmatch/dist/world_info.h"
#include "flowmatch/io/safetensors.h"
#include "flowmatch/model/model_registry.h"
#include "test_util.h"

namespace flowmatch {
namespace {
using testing::TempDir;
using testing::error_of;
using Clock = std::chrono::steady_clock;

WorldInfo world_of(const std::map<std::string, std::string>& environment) {
  return world_from_environment([&](const char* name) {
    auto it = environment.find(name);
    return it == environment.end() ? nullptr : it->second.c_str();
  });
}

TEST(WorldInfo, ReadsEachLaunchersVariables) {
  EXPECT_FALSE(world_of({}).distributed());
  WorldInfo torchrun = world_of({{"RANK", "3"}, {"WORLD_SIZE", "4"}, {"LOCAL_RANK", "1"}, {"LOCAL_WORLD_SIZE", "2"},
                                 {"MASTER_ADDR", "node7"}, {"MASTER_PORT", "29500"}});
  EXPECT_EQ(torchrun.launcher, "torchrun");
  EXPECT_EQ(torchrun.rank, 3);
  EXPECT_EQ(torchrun.world_size, 4);
  EXPECT_EQ(torchrun.local_rank, 1);
  EXPECT_EQ(torchrun.local_world_size, 2);
  EXPECT_EQ(torchrun.master_addr, "node7");
  EXPECT_EQ(torchrun.master_port, 29500);
  WorldInfo slurm = world_of({{"SLURM_PROCID", "5"}, {"SLURM_NTASKS", "6"}, {"SLURM_LOCALID", "1"},
                              {"SLURM_NTASKS_PER_NODE", "2(x3)"}, {"MASTER_ADDR", "n1"}, {"MASTER_PORT", "1234"}});
  EXPECT_EQ(slurm.launcher, "slurm");
  EXPECT_EQ(slurm.rank, 5);
  EXPECT_EQ(slurm.local_world_size, 2);
  WorldInfo mpi = world_of({{"OMPI_COMM_WORLD_RANK", "0"}, {"OMPI_COMM_WORLD_SIZE", "2"}, {"MASTER_ADDR", "a"},
                            {"MASTER_PORT", "9"}});
  EXPECT_EQ(mpi.launcher, "openmpi");
  EXPECT_EQ(mpi.world_size, 2);
  EXPECT_EQ(mpi.local_world_size, 2);  // unset: all on this machine
  EXPECT_FALSE(world_of({{"RANK", "0"}, {"WORLD_SIZE", "1"}}).distributed());  // one process needs no address
}

TEST(WorldInfo, RefusesIncompleteOrOutOfRangeJobs) {
  EXPECT_NE(error_of([] { world_of({{"RANK", "0"}}); }).find("not WORLD_SIZE"), std::string::npos);
  EXPECT_NE(error_of([] { world_of({{"RANK", "2"}, {"WORLD_SIZE", "2"}}); }).find("RANK=2 is not an integer in [0, 1]"),
            std::string::npos);
  EXPECT_NE(error_of([] { world_of({{"RANK", "x"}, {"WORLD_SIZE", "2"}}); }).find("RANK=x"), std::string::npos);
  EXPECT_NE(error_of([] { world_of({{"RANK", "0"}, {"WORLD_SIZE", "2"}}); }).find("no MASTER_ADDR"), std::string::npos);
  EXPECT_NE(error_of([] { world_of({{"RANK", "0"}, {"WORLD_SIZE", "2"}, {"MASTER_ADDR", "h"}, {"MASTER_PORT", "70000"}}); })
                .find("MASTER_PORT=70000"),
            std::string::npos);
}

// A program started in the background (its pid is the program's), its output going to a file.
struct Process {
  pid_t pid;
  std::string log;
};

Process start(const std::string& command, const std::string& log) {
  pid_t pid = fork();
  if (pid == 0) {
    execl("/bin/sh", "sh", "-c", ("exec " + command + " > " + log + " 2>&1").c_str(), nullptr);
    _exit(127);
  }
  return {pid, log};
}

// Waits for the process to end, for at most `limit`: its exit code, or -1 after killing it.
int finish(const Process& process, std::chrono::seconds limit = std::chrono::seconds(300)) {
  auto deadline = Clock::now() + limit;
  int status = 0;
  while (waitpid(process.pid, &status, WNOHANG) == 0) {
    if (Clock::now() > deadline) {
      kill(process.pid, SIGKILL);
      waitpid(process.pid, &status, 0);
      return -1;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

std::string read_text(const std::string& path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// Runs a program to its end: its exit code.
int run(const std::string& command, const std::string& log) { return finish(start(command, log)); }

// Runs shell commands (any syntax), their output going to `log`: the exit code.
int shell(const std::string& commands, const std::string& log) {
  int status = std::system(("{ " + commands + "; } > " + log + " 2>&1").c_str());
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

int free_port() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  socklen_t length = sizeof address;
  bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address);
  getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length);
  close(fd);
  return ntohs(address.sin_port);
}

// Two ranks in two threads of this process sum their halves' gradients, each weighted 1/2, in
// buckets of 16 KiB started during backward: the gradient of the whole batch's mean loss.
TEST(GradientBuckets, SumTheRanksWeightedGradientsToTheWholeBatchs) {
  auto make = [] {
    torch::manual_seed(3);
    return make_model({{"name", "mlp"}, {"data_dim", 2}, {"width", 64}, {"depth", 2}});
  };
  at::Tensor x = torch::randn({8, 2}), t = torch::rand({8}), target = torch::randn({8, 2});
  auto whole = make();
  (whole->forward(x, t) - target).pow(2).mean().backward();
  std::vector<std::shared_ptr<VelocityModel>> ranks = {make(), make()};
  int port = free_port();
  std::vector<std::string> errors(2);
  std::vector<size_t> buckets(2);
  std::vector<std::thread> threads;
  for (int rank = 0; rank < 2; ++rank)
    threads.emplace_back([&, rank] {
      try {
        WorldInfo world;
        world.rank = rank;
        world.world_size = 2;
        world.master_addr = "127.0.0.1";
        world.master_port = port;
        auto group = ProcessGroup::join(world, std::chrono::seconds(30));
        GradientBuckets summed(ranks[size_t(rank)]->parameters(), *group, 16 << 10);
        buckets[size_t(rank)] = summed.bucket_count();
        for (int step = 0; step < 2; ++step) {  // the second step must not add to the first's gradients
          summed.begin(0.5);
          at::Tensor rows = torch::arange(rank * 4, rank * 4 + 4);
          (ranks[size_t(rank)]->forward(x.index({rows}), t.index({rows})) - target.index({rows})).pow(2).mean().backward();
          summed.finish();
        }
      } catch (const std::exception& e) {
        errors[size_t(rank)] = e.what();
      }
    });
  for (auto& thread : threads) thread.join();
  ASSERT_EQ(errors[0] + errors[1], "");
  EXPECT_GT(buckets[0], 3u);
  for (const auto& rank : ranks) {
    auto expected = whole->parameters(), got = rank->parameters();
    for (size_t i = 0; i < expected.size(); ++i)
      EXPECT_TRUE(torch::allclose(got[i].grad(), expected[i].grad(), 1e-5, 1e-7)) << "parameter " << i;
  }
}

std::string rank_environment(int rank, const std::string& address, int port) {
  return "env RANK=" + std::to_string(rank) + " WORLD_SIZE=2 LOCAL_RANK=0 LOCAL_WORLD_SIZE=1 MASTER_ADDR=" + address +
         " MASTER_PORT=" + std::to_string(port) + " ";
}

// The largest |a - b| / max |a| over the tensors of two weights files.
double relative_difference(const std::string& a_path, const std::string& b_path) {
  Safetensors a = read_safetensors(a_path), b = read_safetensors(b_path);
  EXPECT_EQ(a.tensors.size(), b.tensors.size());
  double worst = 0;
  for (const auto& [name, tensor] : a.tensors) {
    at::Tensor other = b.at(name);
    worst = std::max(worst, (tensor - other).abs().max().item<double>() / tensor.abs().max().item<double>());
  }
  return worst;
}

// The child of `parent` whose environment holds RANK=`rank`; 0 when there is none.
pid_t child_with_rank(pid_t parent, int rank) {
  for (const auto& entry : std::filesystem::directory_iterator("/proc")) {
    if (!std::isdigit(entry.path().filename().string()[0])) continue;  // not a process
    std::string stat = read_text(entry.path().string() + "/stat");  // "pid (name) state ppid ..."
    size_t name_end = stat.rfind(')');
    if (name_end == std::string::npos || std::atoi(stat.c_str() + name_end + 4) != parent) continue;
    std::string environment = std::string(1, '\0') + read_text(entry.path().string() + "/environ");
    if (environment.find(std::string("\0RANK=", 6) + std::to_string(rank) + std::string(1, '\0')) != std::string::npos)
      return std::stoi(entry.path().filename().string());
  }
  return 0;
}

const std::string kBin = FLOWMATCH_BIN;
// No EMA, so the weights saved are the model's.
const std::string kRun = kBin + " train --data checkerboard --ema 0 --log-every 10 --threads 1 ";

// Two ranks joined through the environment (as torchrun starts them), each drawing 32 rows,
// train to the weights of one process drawing the same two shards of 32 as one batch of 64 (the
// default mlp: 2.4 MB of gradients, one bucket; GradientBuckets.* test several).
TEST(Distributed, TwoRanksEqualOneProcessDrawingBothShards) {
  TempDir dir;
  const std::string options = kRun + "--steps 20 --batch 64 ";
  ASSERT_EQ(run(options + "--shards 2 --out " + dir.file("one"), dir.file("one.log")), 0) << read_text(dir.file("one.log"));
  int port = free_port();
  Process rank0 = start(rank_environment(0, "127.0.0.1", port) + options + "--out " + dir.file("two"), dir.file("r0.log"));
  Process rank1 = start(rank_environment(1, "127.0.0.1", port) + options + "--out " + dir.file("two"), dir.file("r1.log"));
  ASSERT_EQ(finish(rank0), 0) << read_text(rank0.log);
  ASSERT_EQ(finish(rank1), 0) << read_text(rank1.log);
  EXPECT_LT(relative_difference(dir.file("one/model.safetensors"), dir.file("two/model.safetensors")), 1e-5);
  EXPECT_EQ(read_text(rank1.log), "");  // rank 0 alone reports
  // The comparison can tell data orders apart: one seed stream of 64 rows trains to other weights.
  ASSERT_EQ(run(options + "--shards 1 --out " + dir.file("one-stream"), dir.file("s.log")), 0);
  EXPECT_GT(relative_difference(dir.file("one/model.safetensors"), dir.file("one-stream/model.safetensors")), 1e-3);
}

// torchrun (Debian's python3-torch, a bench-only package) starts the ranks and holds the store
// itself. `--redirects 1 --tee 1` steps around torch 1.13's parsing of its defaults under Python 3.11.
TEST(Distributed, TorchrunStartsTheRanks) {
  if (std::system("command -v torchrun > /dev/null") != 0) GTEST_SKIP() << "torchrun is not installed (python3-torch)";
  TempDir dir;
  const std::string options = "train --data checkerboard --steps 20 --batch 64 --width 64 --depth 1 --threads 1 --out " + dir.file("run");
  ASSERT_EQ(shell("torchrun --no_python --redirects 1 --tee 1 --nproc_per_node 2 --master_port " +
                      std::to_string(free_port()) + " " + kBin + " " + options, dir.file("log")), 0)
      << read_text(dir.file("log"));
  EXPECT_NE(read_text(dir.file("log")).find("on 2 processes"), std::string::npos) << read_text(dir.file("log"));
  read_safetensors(dir.file("run/model.safetensors"));
}

// rank 1 of a --nproc 2 job is killed after the first checkpoint: rank 0 stops within moments,
// naming it; the checkpoint is whole, and one process resumes it to the weights of a run never stopped.
TEST(Distributed, KilledRankStopsTheJobAndTheRunResumesOnOneProcess) {
  TempDir dir;
  const std::string options = kRun + "--steps 400 --batch 64 --width 64 --depth 1 --checkpoint-every 10 --dist-timeout 30 ";
  ASSERT_EQ(run(options + "--shards 2 --out " + dir.file("whole"), dir.file("whole.log")), 0);
  Process job = start(options + "--nproc 2 --out " + dir.file("stopped"), dir.file("job.log"));
  auto deadline = Clock::now() + std::chrono::seconds(120);
  while (!std::filesystem::exists(dir.file("stopped/model.safetensors")) && Clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  pid_t rank1 = child_with_rank(job.pid, 1);
  ASSERT_GT(rank1, 0) << "rank 1 not found; " << read_text(job.log);
  ASSERT_EQ(kill(rank1, SIGKILL), 0);
  auto killed = Clock::now();
  EXPECT_EQ(finish(job, std::chrono::seconds(60)), 1);
  EXPECT_LT(Clock::now() - killed, std::chrono::seconds(30));  // within --dist-timeout
  std::string log = read_text(job.log);
  EXPECT_NE(log.find("no answer from rank 1"), std::string::npos) << log;
  EXPECT_NE(log.find("rank 1 (pid " + std::to_string(rank1) + ") was killed by signal 9"), std::string::npos) << log;
  read_safetensors(dir.file("stopped/model.safetensors"));  // whole: a torn file would throw
  ASSERT_EQ(run(kBin + " train --resume " + dir.file("stopped") + " --threads 1", dir.file("resume.log")), 0)
      << read_text(dir.file("resume.log"));
  EXPECT_LT(relative_difference(dir.file("whole/model.safetensors"), dir.file("stopped/model.safetensors")), 1e-4);
}
// A one-process run killed after its first checkpoint resumes on two processes: a seed stream
// joins, and the job trains to the end.
TEST(Distributed, ARunResumesOnMoreProcessesThanItHasShards) {
  TempDir dir;
  Process alone = start(kRun + "--steps 3000 --batch 64 --width 16 --depth 1 --checkpoint-every 10 --out " + dir.file("run"),
                        dir.file("alone.log"));
  auto deadline = Clock::now() + std::chrono::seconds(120);
  while (!std::filesystem::exists(dir.file("run/training_state.safetensors")) && Clock::now() < deadline)  // saved last
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  kill(alone.pid, SIGKILL);
  ASSERT_EQ(finish(alone), 128 + SIGKILL) << "the run ended before it could be stopped: " << read_text(alone.log);
  ASSERT_EQ(run(kBin + " train --resume " + dir.file("run") + " --nproc 2", dir.file("resume.log")), 0)
      << read_text(dir.file("resume.log"));
  std::string log = read_text(dir.file("resume.log"));
  EXPECT_NE(log.find("resuming on 2 processes a run drawn as 1 shard(s): 1 fresh seed stream(s) join"), std::string::npos) << log;
  Safetensors state = read_safetensors(dir.file("run/training_state.safetensors"));
  EXPECT_EQ(state.metadata.at("step"), "3000");
  EXPECT_NO_THROW(state.at("generator.1"));  // the joined stream is saved with the others
}

// Two network namespaces joined by a veth pair, made for one test and removed after it.
class NetworkNamespaces : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string id = std::to_string(getpid() % 100000);
    a_ = "fm-a-" + id;
    b_ = "fm-b-" + id;
    std::string veth_a = "fmva" + id, veth_b = "fmvb" + id;  // interface names stay under 16 characters
    std::string setup = "ip netns add " + a_ + " && ip netns add " + b_ + " && ip link add " + veth_a +
                        " type veth peer name " + veth_b + " && ip link set " + veth_a + " netns " + a_ +
                        " && ip link set " + veth_b + " netns " + b_ + " && ip -n " + a_ + " addr add " + kAddressA +
                        "/24 dev " + veth_a + " && ip -n " + b_ + " addr add " + kAddressB + "/24 dev " + veth_b +
                        " && ip -n " + a_ + " link set " + veth_a + " up && ip -n " + b_ + " link set " + veth_b +
                        " up && ip -n " + a_ + " link set lo up && ip -n " + b_ + " link set lo up";
    made_ = shell(setup, dir_.file("setup.log")) == 0;
    if (!made_) GTEST_SKIP() << "cannot make network namespaces here (needs root and iproute2): " << read_text(dir_.file("setup.log"));
  }
  void TearDown() override {
    shell("ip netns del " + a_ + "; ip netns del " + b_, dir_.file("teardown.log"));  // takes the veth pair with it
  }
  // Rank `rank` of a 2-rank job, in namespace a (rank 0, which holds the store) or b.
  Process start_rank(int rank, const std::string& options, int port) {
    return start("ip netns exec " + (rank == 0 ? a_ : b_) + " " + rank_environment(rank, kAddressA, port) + options,
                 dir_.file("rank" + std::to_string(rank) + ".log"));
  }
  static constexpr const char* kAddressA = "10.231.0.1";
  static constexpr const char* kAddressB = "10.231.0.2";
  TempDir dir_;
  std::string a_, b_;
  bool made_ = false;
};

// The ranks can reach each other only over the veth link, and train together over it; then the
// link goes down mid-run, and both stop within the timeout, each naming the other.
TEST_F(NetworkNamespaces, TwoRanksTrainOverAVethLinkAndStopWhenItGoesDown) {
  const std::string options = kRun + "--steps 20 --batch 64 --width 64 --depth 1 --out " + dir_.file("run");
  Process rank0 = start_rank(0, options, 29611), rank1 = start_rank(1, options, 29611);
  ASSERT_EQ(finish(rank0), 0) << read_text(rank0.log);
  ASSERT_EQ(finish(rank1), 0) << read_text(rank1.log);
  EXPECT_NE(read_text(rank0.log).find("on 2 processes"), std::string::npos);
  read_safetensors(dir_.file("run/model.safetensors"));

  const std::string endless = kRun + "--steps 1000000 --batch 64 --width 64 --depth 1 --checkpoint-every 0 "
                                     "--dist-timeout 5 --overwrite --out " + dir_.file("cut");
  rank0 = start_rank(0, endless, 29612);
  rank1 = start_rank(1, endless, 29612);
  auto deadline = Clock::now() + std::chrono::seconds(60);
  while (read_text(dir_.file("cut/metrics.jsonl")).empty() && Clock::now() < deadline)  // both ranks are training
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  ASSERT_EQ(shell("ip -n " + b_ + " link set fmvb" + std::to_string(getpid() % 100000) + " down", dir_.file("down.log")), 0);
  auto cut = Clock::now();
  EXPECT_EQ(finish(rank0, std::chrono::seconds(60)), 1);
  EXPECT_EQ(finish(rank1, std::chrono::seconds(60)), 1);
  EXPECT_LT(Clock::now() - cut, std::chrono::seconds(20));  // the 5 s timeout, the 2 s report, the store's 5 s
  EXPECT_NE(read_text(rank0.log).find("no answer from rank 1"), std::string::npos) << read_text(rank0.log);
  EXPECT_NE(read_text(rank1.log).find("the rendezvous store at 10.231.0.1:29612 is unreachable"),
            std::string::npos)
      << read_text(rank1.log);
}
}  // namespace
}  // namespace flowmatch
