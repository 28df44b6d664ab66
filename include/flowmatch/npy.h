#pragma once
#include <ATen/core/Tensor.h>

#include <string>

namespace flowmatch {

// NumPy .npy files (format versions 1-3): float32 or float64, little-endian, C order.
// Reading returns a float32 tensor of the stored shape; the header is validated against the file
// size before any data is touched.
at::Tensor read_npy(const std::string& path);
// Decodes .npy bytes; `name` appears in error messages.
at::Tensor parse_npy(const std::string& bytes, const std::string& name);
// Writes a float32 or float64 tensor of any shape as .npy, atomically.
void write_npy(const std::string& path, const at::Tensor& tensor);

}  // namespace flowmatch
