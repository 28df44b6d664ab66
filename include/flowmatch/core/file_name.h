#pragma once
#include <string>

namespace flowmatch {

// Whether a file name ends with `suffix` (".npy", "-ubyte.gz").
inline bool ends_with(const std::string& name, const std::string& suffix) {
  return name.size() >= suffix.size() && name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0;
}

}  // namespace flowmatch
