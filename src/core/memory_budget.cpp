#include "flowmatch/core/memory_budget.h"

#include <sys/statvfs.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "flowmatch/core/error.h"

namespace flowmatch {

int64_t available_memory_bytes() {
  std::ifstream meminfo("/proc/meminfo");
  std::string line;
  while (std::getline(meminfo, line)) {
    long long kib = 0;
    if (std::sscanf(line.c_str(), "MemAvailable: %lld kB", &kib) == 1) return int64_t(kib) * 1024;
  }
  return 0;
}

std::string describe_bytes(double bytes) {
  const char* units[] = {"bytes", "KiB", "MiB", "GiB", "TiB", "PiB"};
  int unit = 0;
  while (bytes >= 1024 && unit < 5) {
    bytes /= 1024;
    ++unit;
  }
  char text[64];
  std::snprintf(text, sizeof text, unit == 0 ? "%.0f %s" : "%.1f %s", bytes, units[unit]);
  return text;
}

void require_memory(double bytes, const std::string& what) {
  int64_t available = available_memory_bytes();
  if (available > 0 && bytes > double(available))
    throw Error(what + " needs about " + describe_bytes(bytes) + " of memory but " + describe_bytes(double(available)) +
                " is available; nothing was started");
}

void require_disk_space(const std::string& path, double bytes, const std::string& what) {
  std::filesystem::path folder = std::filesystem::path(path).parent_path();
  struct statvfs fs;
  if (::statvfs(folder.empty() ? "." : folder.c_str(), &fs) != 0) return;
  const double free = double(fs.f_bavail) * double(fs.f_frsize);
  if (bytes > free)
    throw Error(what + " needs about " + describe_bytes(bytes) + " on disk for " + path + " but " + describe_bytes(free) +
                " is free there; nothing was started");
}

}  // namespace flowmatch
