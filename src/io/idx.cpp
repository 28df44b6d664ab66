#include "flowmatch/io/idx.h"

#include <ATen/Functions.h>

#include <algorithm>
#include <cstring>
#include <vector>

#include "flowmatch/core/error.h"
#include "flowmatch/io/atomic_file.h"
#include "flowmatch/io/file_shape.h"
#include "flowmatch/io/gzip.h"

namespace flowmatch {

namespace {
constexpr size_t kMaxDims = 255;                         // NDIM is one byte
constexpr size_t kMaxHeader = 4 + 4 * kMaxDims;
constexpr uint64_t kMaxDataBytes = uint64_t(1) << 36;  // 64 GiB: refuse shapes no machine holds

Error invalid_idx(const std::string& name, const std::string& why) {
  return Error(name + ": not a valid IDX file: " + why);
}

struct IdxType {
  at::ScalarType dtype;
  size_t width;
};

IdxType idx_type(uint8_t code, const std::string& name) {
  switch (code) {
    case 0x08: return {at::kByte, 1};
    case 0x09: return {at::kChar, 1};
    case 0x0B: return {at::kShort, 2};
    case 0x0C: return {at::kInt, 4};
    case 0x0D: return {at::kFloat, 4};
    case 0x0E: return {at::kDouble, 8};
    default: throw invalid_idx(name, "unknown type code " + std::to_string(code));
  }
}

uint32_t read_be32(const std::string& bytes, size_t offset) {
  uint32_t value = 0;
  for (size_t i = 0; i < 4; ++i) value = value << 8 | uint8_t(bytes[offset + i]);
  return value;
}

struct IdxHeader {
  IdxType type;
  std::vector<int64_t> shape;
  size_t size;        // bytes of the header itself
  uint64_t data_bytes;  // what the shape needs
};

// Parses the header from the first bytes of the (decompressed) file.
IdxHeader parse_header(const std::string& bytes, const std::string& name) {
  auto fail = [&](const std::string& why) { return invalid_idx(name, why); };
  if (bytes.empty()) throw fail("the file is empty");
  if (bytes.size() < 4) throw fail("truncated header");
  if (bytes[0] != 0 || bytes[1] != 0) throw fail("missing the two zero bytes that start an IDX file");
  IdxHeader header{idx_type(uint8_t(bytes[2]), name), {}, 0, 0};
  size_t dims = uint8_t(bytes[3]);
  if (dims == 0) throw fail("no dimensions");
  header.size = 4 + 4 * dims;
  if (bytes.size() < header.size) throw fail("truncated header (" + std::to_string(dims) + " dimensions declared)");
  std::vector<uint64_t> sizes;
  for (size_t i = 0; i < dims; ++i) sizes.push_back(read_be32(bytes, 4 + 4 * i));
  std::optional<uint64_t> count = element_count(sizes, kMaxDataBytes / header.type.width);
  if (!count) throw fail("shape too large");
  header.shape.assign(sizes.begin(), sizes.end());
  header.data_bytes = *count * header.type.width;
  return header;
}
}  // namespace

at::Tensor parse_idx(const std::string& file_bytes, const std::string& name) {
  bool gzipped = is_gzip(file_bytes);
  std::string inflated;
  const std::string& bytes = gzipped ? inflated : file_bytes;
  if (gzipped) inflated = gunzip(file_bytes, kMaxHeader, name);
  IdxHeader header = parse_header(bytes, name);
  uint64_t expected = header.size + header.data_bytes;
  // Inflated again up to what the header declares plus one byte: a lying header meets the real
  // data size before memory does.
  if (gzipped) inflated = gunzip(file_bytes, expected + 1, name);
  if (bytes.size() != expected)
    throw invalid_idx(name, "the shape needs " + std::to_string(header.data_bytes) + " bytes of data but the file has " +
                                std::to_string(bytes.size() - header.size) +
                                (gzipped && bytes.size() > expected ? " or more" : ""));

  at::Tensor out = at::empty(header.shape, at::TensorOptions().dtype(header.type.dtype));
  char* data = static_cast<char*>(out.data_ptr());
  if (header.data_bytes > 0) std::memcpy(data, bytes.data() + header.size, header.data_bytes);
  size_t width = header.type.width;
  if (width > 1)  // big-endian on disk
    for (uint64_t offset = 0; offset < header.data_bytes; offset += width) std::reverse(data + offset, data + offset + width);
  if (out.is_floating_point() && !at::isfinite(out).all().item<bool>())
    throw Error(name + ": the IDX file holds NaN or infinite values");
  return out;
}

at::Tensor read_idx(const std::string& path) { return parse_idx(read_file(path), path); }

}  // namespace flowmatch
