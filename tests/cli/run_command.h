#pragma once
// Runs a shell command or the built flowmatch binary (FLOWMATCH_BIN), capturing what it prints.
#include <sys/wait.h>

#include <cstdio>
#include <string>

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

}  // namespace cli_test
