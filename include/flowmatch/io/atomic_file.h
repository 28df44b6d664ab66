#pragma once
#include <string>
#include <string_view>
#include <vector>

namespace flowmatch {

// Writes `bytes` to `path` so that `path` never holds a partial file: the bytes go to a temporary
// file in the same folder, which is fsync'd and renamed over `path`, and the folder is fsync'd.
// Throws Error on failure and leaves nothing behind.
void write_file_atomically(const std::string& path, const std::string& bytes);
// The same for bytes in pieces, written one after another (no copy of them all in one buffer).
void write_file_atomically(const std::string& path, const std::vector<std::string_view>& pieces);

// A file written in pieces that appears at `path` only when complete: the pieces go to a temporary
// file in the same folder; commit() fsyncs it, renames it over `path` and fsyncs the folder. A
// writer destroyed before commit() (an error half-way) removes the temporary file, so `path`
// never holds a partial file. Throws Error naming `path` on failure.
class AtomicFileWriter {
 public:
  explicit AtomicFileWriter(std::string path);
  ~AtomicFileWriter();
  AtomicFileWriter(const AtomicFileWriter&) = delete;
  AtomicFileWriter& operator=(const AtomicFileWriter&) = delete;

  void write(std::string_view bytes);
  void commit();
  const std::string& path() const { return path_; }

 private:
  [[noreturn]] void fail(int err);
  std::string path_, temp_;
  int fd_ = -1;
};

// Reads a whole file; throws Error naming the path when it cannot be opened.
std::string read_file(const std::string& path);

// Throws Error naming `path` unless its folder exists and is writable, and (without `overwrite`)
// nothing is there yet: checked before long work so that a bad --out fails at once rather than
// after training, and no file is replaced unasked.
void check_writable_destination(const std::string& path, bool overwrite);

}  // namespace flowmatch
