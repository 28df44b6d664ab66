#pragma once
#include <ATen/core/Tensor.h>

#include <string>

namespace flowmatch {

// NumPy .npy files (format versions 1-3): float32, float64 or int64, little-endian, C order.
// Reading returns a tensor of the stored shape, float32 for floating-point files and int64 for
// int64 files (class labels); the header is validated against the file size before any data is touched.
at::Tensor read_npy(const std::string& path);
// Decodes .npy bytes; `name` appears in error messages.
at::Tensor parse_npy(const std::string& bytes, const std::string& name);
// Writes a float32, float64 or int64 tensor of any shape as .npy, atomically.
void write_npy(const std::string& path, const at::Tensor& tensor);

}  // namespace flowmatch
