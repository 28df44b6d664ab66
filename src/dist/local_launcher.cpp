#include "flowmatch/dist/local_launcher.h"

#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <thread>

#include "flowmatch/core/error.h"
#include "flowmatch/core/stop_signals.h"

namespace flowmatch {

namespace {
// A port no one listens on now: the kernel's pick for a socket bound to port 0.
int free_local_port() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof address;
  bool ok = fd >= 0 && bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0 &&
            getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) == 0;
  if (fd >= 0) close(fd);
  if (!ok) throw Error(std::string("cannot find a free local port for the job's rendezvous: ") + std::strerror(errno));
  return ntohs(address.sin_port);
}

std::string describe_status(int status) {
  if (WIFSIGNALED(status)) return "was killed by signal " + std::to_string(WTERMSIG(status)) + " (" + strsignal(WTERMSIG(status)) + ")";
  return "exited with status " + std::to_string(WEXITSTATUS(status));
}
}  // namespace

std::string run_local_job(int processes, const std::string& program, const std::vector<std::string>& arguments,
                  std::chrono::seconds grace) {
  std::string port = std::to_string(free_local_port());
  std::vector<char*> argv;
  for (const auto& argument : arguments) argv.push_back(const_cast<char*>(argument.c_str()));
  argv.push_back(nullptr);
  StopSignals stop;  // caught here, passed on below
  std::vector<pid_t> ranks(size_t(processes), 0);
  for (int rank = 0; rank < processes; ++rank) {
    // The environment is built before fork: the child only calls exec.
    std::vector<std::string> variables = {"RANK=" + std::to_string(rank), "LOCAL_RANK=" + std::to_string(rank),
                                          "WORLD_SIZE=" + std::to_string(processes),
                                          "LOCAL_WORLD_SIZE=" + std::to_string(processes), "MASTER_ADDR=127.0.0.1",
                                          "MASTER_PORT=" + port};
    std::vector<char*> environment;
    for (auto& variable : variables) environment.push_back(variable.data());
    for (char** inherited = environ; *inherited; ++inherited)
      if (!std::any_of(variables.begin(), variables.end(), [&](const std::string& v) {
            return std::strncmp(*inherited, v.c_str(), v.find('=') + 1) == 0;
          }))
        environment.push_back(*inherited);
    environment.push_back(nullptr);
    pid_t pid = fork();
    if (pid < 0) {
      std::string reason = std::strerror(errno);
      for (pid_t started : ranks)
        if (started > 0) kill(started, SIGKILL);  // they would wait for this rank until the timeout
      throw Error("cannot start rank " + std::to_string(rank) + ": " + reason);
    }
    if (pid == 0) {
      execve(program.c_str(), argv.data(), environment.data());
      std::fprintf(stderr, "error: cannot run %s: %s\n", program.c_str(), std::strerror(errno));
      _exit(127);
    }
    ranks[size_t(rank)] = pid;
  }
  int running = processes;
  std::string failure;  // the first rank's failure
  bool forwarded = false;
  std::chrono::steady_clock::time_point deadline{};
  while (running > 0) {
    if (stop.requested() && !forwarded) {
      for (pid_t pid : ranks)
        if (pid > 0) kill(pid, std::strcmp(stop.name(), "SIGINT") == 0 ? SIGINT : SIGTERM);
      forwarded = true;
    }
    if (!failure.empty() && std::chrono::steady_clock::now() > deadline) {
      for (pid_t pid : ranks)
        if (pid > 0) kill(pid, SIGKILL);
    }
    int status = 0;
    pid_t pid = waitpid(-1, &status, WNOHANG);
    if (pid <= 0) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      continue;
    }
    for (size_t rank = 0; rank < ranks.size(); ++rank) {
      if (ranks[rank] != pid) continue;
      ranks[rank] = 0;
      --running;
      bool ok = WIFEXITED(status) && WEXITSTATUS(status) == 0;
      if (!ok && failure.empty()) {
        failure = forwarded ? std::string(stop.name()) + " passed on to every rank"
                            : "rank " + std::to_string(rank) + " (pid " + std::to_string(pid) + ") " + describe_status(status);
        deadline = std::chrono::steady_clock::now() + grace;
      }
    }
  }
  return failure;
}

}  // namespace flowmatch
