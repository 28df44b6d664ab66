#pragma once
#include <ATen/core/Tensor.h>

#include <string>
#include <vector>

#include "flowmatch/io/atomic_file.h"

namespace flowmatch {

// NumPy .npy files (format versions 1-3): float32, float64 or int64, little-endian, C order.
// Reading returns a tensor of the stored shape, float32 for floating-point files and int64 for
// int64 files (class labels); the header is validated against the file size before any data is touched.
at::Tensor read_npy(const std::string& path);
// Whether the .npy file at `path` holds int64 values (tokens, labels), from its header alone; false
// for a file that is not a readable .npy (reading it says why).
bool npy_holds_int64(const std::string& path);
// Decodes .npy bytes; `name` appears in error messages.
at::Tensor parse_npy(const std::string& bytes, const std::string& name);
// Writes a float32, float64 or int64 tensor of any shape as .npy, atomically.
void write_npy(const std::string& path, const at::Tensor& tensor);

// A .npy array of a known shape written in pieces along its first dimension, for arrays too large
// to hold at once: append() takes the next rows ([k, shape[1], ...], converted to `type`), and the
// file appears, complete, at commit(), which throws unless all shape[0] rows were appended. An
// unfinished writer leaves nothing behind.
class NpyWriter {
 public:
  NpyWriter(const std::string& path, at::ScalarType type, std::vector<int64_t> shape);
  void append(const at::Tensor& rows);
  void commit();

 private:
  AtomicFileWriter file_;
  at::ScalarType type_;
  std::vector<int64_t> shape_;
  int64_t rows_ = 0;
};

}  // namespace flowmatch
