#include "flowmatch/train/run_dir.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>

#include "flowmatch/core/error.h"

namespace flowmatch {
namespace fs = std::filesystem;

namespace {
std::string read_all(int fd) {
  std::string text;
  char buffer[4096];
  ssize_t n;
  for (off_t at = 0; (n = ::pread(fd, buffer, sizeof buffer, at)) > 0; at += n) text.append(buffer, size_t(n));
  while (!text.empty() && (text.back() == '\n' || text.back() == '\0')) text.pop_back();
  return text;
}

// "process 123 since 2026-12-03 02:41:28 UTC: flowmatch train --data ..." for this process.
std::string this_holder() {
  std::ifstream in("/proc/self/cmdline", std::ios::binary);
  std::string command(std::istreambuf_iterator<char>(in), {});
  for (char& c : command)
    if (c == '\0') c = ' ';
  while (!command.empty() && command.back() == ' ') command.pop_back();
  std::time_t now = std::time(nullptr);
  char since[32];
  std::strftime(since, sizeof since, "%Y-%m-%d %H:%M:%S UTC", std::gmtime(&now));
  return "process " + std::to_string(::getpid()) + " since " + since + ": " + command;
}
}  // namespace

RunDirLock RunDir::create(const std::string& dir, bool overwrite) {
  std::error_code ec;
  if (fs::exists(dir) && !fs::is_directory(dir)) throw Error("cannot use " + dir + " as a run folder: it is a file");
  fs::create_directories(dir, ec);
  if (ec) throw Error("cannot create run folder " + dir + ": " + ec.message());
  if (::access(dir.c_str(), W_OK) != 0) throw Error("cannot write to run folder " + dir);
  RunDirLock lock(dir);  // before the check: a run that is writing its first model is refused too
  if (!overwrite && fs::exists(fs::path(dir) / kModel))
    throw Error(dir + " already holds a trained model; choose another --out or pass --overwrite");
  return lock;
}

RunDirLock::RunDirLock(const std::string& dir) {
  std::string path = (fs::path(dir) / RunDir::kLock).string();
  fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd_ < 0) throw Error("cannot lock run folder " + dir + ": " + std::strerror(errno));
  if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
    int error = errno;
    std::string holder = read_all(fd_);
    ::close(fd_);
    fd_ = -1;
    if (error == EWOULDBLOCK)
      throw Error(dir + " is being written by " + (holder.empty() ? "another process" : holder) +
                  "; wait for it to end or stop it, or choose another folder");
    throw Error("cannot lock run folder " + dir + ": " + std::strerror(error));
  }
  // A holder that ended normally emptied the file: text here means one that was killed.
  std::string stale = read_all(fd_);
  if (!stale.empty()) std::cerr << "note: taking over " << dir << " from " << stale << ", which has ended\n";
  std::string holder = this_holder() + "\n";
  if (::ftruncate(fd_, 0) != 0 || ::pwrite(fd_, holder.data(), holder.size(), 0) != ssize_t(holder.size()))
    throw Error("cannot write the lock of run folder " + dir + ": " + std::strerror(errno));
}

RunDirLock::~RunDirLock() {
  if (fd_ < 0) return;
  [[maybe_unused]] int emptied = ::ftruncate(fd_, 0);  // ended normally: nothing stale to report
  ::close(fd_);  // releases the lock
}

std::string run_dir_writer(const std::string& dir) {
  int fd = ::open((fs::path(dir) / RunDir::kLock).c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return "";
  std::string holder;
  if (::flock(fd, LOCK_SH | LOCK_NB) != 0) holder = read_all(fd);
  ::close(fd);  // and with it a shared lock, if it was taken
  return holder;
}

std::string resolve_model_path(const std::string& model_or_run_dir) {
  fs::path p(model_or_run_dir);
  if (fs::is_directory(p)) {
    if (!fs::exists(p / RunDir::kModel)) throw Error(model_or_run_dir + " is a folder without " + RunDir::kModel);
    return (p / RunDir::kModel).string();
  }
  if (!fs::exists(p)) throw Error("no such model file or run folder: " + model_or_run_dir);
  return p.string();
}

}  // namespace flowmatch
