#pragma once
// Runs a shell command or the built flowmatch binary (FLOWMATCH_BIN), capturing what it prints.
#include <sys/wait.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

namespace cli_test {

struct Result {
  int exit_code;
  std::string output;  // stdout and stderr
};

inline Result shell(const std::string& command) {
  FILE* pipe = popen((command + " 2>&1").c_str(), "r");
  std::string output;
  char buffer[4096];
  while (size_t n = fread(buffer, 1, sizeof buffer, pipe)) output.append(buffer, n);
  int status = pclose(pipe);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, output};
}

inline Result flowmatch(const std::string& args) { return shell(std::string(FLOWMATCH_BIN) + " " + args); }

// flowmatch(args[i]) for every i, as many at once as the machine has cores (most of a refused
// command's time is loading LibTorch), the results in the order of `args`. For commands that do
// not touch each other's files.
inline std::vector<Result> flowmatch_each(const std::vector<std::string>& args) {
  std::vector<Result> results(args.size());
  std::atomic<size_t> next{0};
  std::vector<std::thread> workers;
  for (unsigned w = 0; w < std::max(1u, std::thread::hardware_concurrency()); ++w)
    workers.emplace_back([&] {
      for (size_t i = next++; i < args.size(); i = next++) results[i] = flowmatch(args[i]);
    });
  for (auto& worker : workers) worker.join();
  return results;
}

}  // namespace cli_test
