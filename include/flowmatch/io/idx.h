#pragma once
#include <ATen/core/Tensor.h>

#include <string>

namespace flowmatch {

// IDX files (the MNIST format), plain or gzip'd: bytes 0 0 TYPE NDIM, then NDIM big-endian uint32
// sizes, then the values, big-endian, in C order. TYPE is 0x08 uint8, 0x09 int8, 0x0B int16,
// 0x0C int32, 0x0D float32 or 0x0E float64; the tensor keeps that dtype. The header is checked
// against the data before anything is copied, and float values must be finite.
at::Tensor read_idx(const std::string& path);
// Decodes IDX bytes, plain or gzip'd; `name` appears in error messages.
at::Tensor parse_idx(const std::string& bytes, const std::string& name);

}  // namespace flowmatch
