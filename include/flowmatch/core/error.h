#pragma once
#include <stdexcept>
#include <string>

namespace flowmatch {

// Every user-facing failure (bad file, bad option, bad shape) is an Error: the CLI prints its
// message alone and exits non-zero.
class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& message) : std::runtime_error(message) {}
};

}  // namespace flowmatch
