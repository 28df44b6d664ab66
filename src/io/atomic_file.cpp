#include "flowmatch/io/atomic_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "flowmatch/core/error.h"

namespace flowmatch {
namespace fs = std::filesystem;

namespace {
std::string folder_of(const std::string& path) {
  fs::path parent = fs::path(path).parent_path();
  return parent.empty() ? "." : parent.string();
}
}  // namespace

void write_file_atomically(const std::string& path, const std::string& bytes) {
  write_file_atomically(path, std::vector<std::string_view>{bytes});
}

void write_file_atomically(const std::string& path, const std::vector<std::string_view>& pieces) {
  std::string temp = folder_of(path) + "/." + fs::path(path).filename().string() + ".tmpXXXXXX";
  int fd = mkstemp(temp.data());
  if (fd < 0) throw Error("cannot write " + path + ": " + std::strerror(errno));
  for (std::string_view bytes : pieces) {
    size_t written = 0;
    while (written < bytes.size()) {
      ssize_t n = ::write(fd, bytes.data() + written, bytes.size() - written);
      if (n < 0) {
        if (errno == EINTR) continue;
        int err = errno;
        ::close(fd);
        ::unlink(temp.c_str());
        throw Error("cannot write " + path + ": " + std::strerror(err));
      }
      written += static_cast<size_t>(n);
    }
  }
  fchmod(fd, 0644);
  if (::fsync(fd) != 0 || ::close(fd) != 0) {
    int err = errno;
    ::unlink(temp.c_str());
    throw Error("cannot write " + path + ": " + std::strerror(err));
  }
  if (std::rename(temp.c_str(), path.c_str()) != 0) {
    int err = errno;
    ::unlink(temp.c_str());
    throw Error("cannot write " + path + ": " + std::strerror(err));
  }
  // The rename is on disk only once the folder is synced; where a filesystem cannot sync a folder
  // the file is still complete, so that failure is not an error.
  int folder = ::open(folder_of(path).c_str(), O_RDONLY | O_DIRECTORY);
  if (folder >= 0) {
    ::fsync(folder);
    ::close(folder);
  }
}

std::string read_file(const std::string& path) {
  if (fs::is_directory(path)) throw Error("cannot read " + path + ": it is a folder");
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error("cannot read " + path + ": " + std::strerror(errno));
  std::ostringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

void check_writable_destination(const std::string& path) {
  std::string folder = folder_of(path);
  if (!fs::is_directory(folder)) throw Error("cannot write " + path + ": folder " + folder + " does not exist");
  if (::access(folder.c_str(), W_OK) != 0) throw Error("cannot write " + path + ": folder " + folder + " is not writable");
  if (fs::is_directory(path)) throw Error("cannot write " + path + ": it is a folder");
}

}  // namespace flowmatch
