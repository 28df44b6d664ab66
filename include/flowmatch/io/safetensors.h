#pragma once
#include <ATen/core/Tensor.h>

#include <map>
#include <string>
#include <utility>
#include <vector>

namespace flowmatch {

// A safetensors file: 8-byte little-endian header length, a JSON header
// {name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__": {string: string}}, then the
// packed data. Tensors keep their order of writing.
struct Safetensors {
  std::vector<std::pair<std::string, at::Tensor>> tensors;
  std::map<std::string, std::string> metadata;

  // The tensor called `name`; throws Error naming the file's missing entry.
  const at::Tensor& at(const std::string& name) const;
  bool has(const std::string& name) const;
};

// Validates everything before touching data (header length bound, JSON shape, dtype names,
// byte size = product(shape) x dtype size, offsets inside the data, no overlaps or holes, no
// duplicate names) and throws Error naming the problem.
Safetensors parse_safetensors(const std::string& bytes, const std::string& name);
Safetensors read_safetensors(const std::string& path);
// Raw bytes as a U8 tensor [size], for storing opaque state (an optimizer archive, a generator) in a file.
at::Tensor bytes_tensor(std::string bytes);
void write_safetensors(const std::string& path, const Safetensors& file);

}  // namespace flowmatch
