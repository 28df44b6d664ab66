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
  AtomicFileWriter file(path);
  for (std::string_view bytes : pieces) file.write(bytes);
  file.commit();
}

AtomicFileWriter::AtomicFileWriter(std::string path) : path_(std::move(path)) {
  temp_ = folder_of(path_) + "/." + fs::path(path_).filename().string() + ".tmpXXXXXX";
  fd_ = mkstemp(temp_.data());
  if (fd_ < 0) throw Error("cannot write " + path_ + ": " + std::strerror(errno));
}

AtomicFileWriter::~AtomicFileWriter() {
  if (fd_ >= 0) {
    ::close(fd_);
    ::unlink(temp_.c_str());
  }
}

void AtomicFileWriter::fail(int err) {
  ::close(fd_);
  ::unlink(temp_.c_str());
  fd_ = -1;
  throw Error("cannot write " + path_ + ": " + std::strerror(err));
}

void AtomicFileWriter::write(std::string_view bytes) {
  if (fd_ < 0) throw Error("cannot write " + path_ + ": the file is already closed");
  size_t written = 0;
  while (written < bytes.size()) {
    ssize_t n = ::write(fd_, bytes.data() + written, bytes.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) fail(errno);
    written += static_cast<size_t>(n);
  }
}

void AtomicFileWriter::commit() {
  if (fd_ < 0) throw Error("cannot write " + path_ + ": the file is already closed");
  fchmod(fd_, 0644);
  if (::fsync(fd_) != 0) fail(errno);
  int fd = fd_;
  fd_ = -1;
  if (::close(fd) != 0 || std::rename(temp_.c_str(), path_.c_str()) != 0) {
    int err = errno;
    ::unlink(temp_.c_str());
    throw Error("cannot write " + path_ + ": " + std::strerror(err));
  }
  // The rename is on disk only once the folder is synced; where a filesystem cannot sync a folder
  // the file is still complete, so that failure is not an error.
  int folder = ::open(folder_of(path_).c_str(), O_RDONLY | O_DIRECTORY);
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

void check_writable_destination(const std::string& path, bool overwrite) {
  std::string folder = folder_of(path);
  if (!fs::is_directory(folder)) throw Error("cannot write " + path + ": folder " + folder + " does not exist");
  if (::access(folder.c_str(), W_OK) != 0) throw Error("cannot write " + path + ": folder " + folder + " is not writable");
  if (fs::is_directory(path)) throw Error("cannot write " + path + ": it is a folder");
  if (!overwrite && fs::exists(path)) throw Error(path + " exists; pass --overwrite to replace it");
}

}  // namespace flowmatch
