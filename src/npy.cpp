#include "flowmatch/npy.h"

#include <ATen/Functions.h>

#include <cstring>
#include <regex>

#include "flowmatch/atomic_file.h"
#include "flowmatch/error.h"

namespace flowmatch {

namespace {
constexpr char kMagic[] = "\x93NUMPY";
constexpr int64_t kMaxElements = int64_t(1) << 33;  // 32 GiB of float32: refuse lying headers

uint32_t read_le(const std::string& bytes, size_t offset, size_t width) {
  uint32_t value = 0;
  for (size_t i = 0; i < width; ++i) value |= uint32_t(uint8_t(bytes[offset + i])) << (8 * i);
  return value;
}
}  // namespace

at::Tensor parse_npy(const std::string& bytes, const std::string& name) {
  auto fail = [&](const std::string& why) { return Error(name + ": not a valid .npy file: " + why); };
  if (bytes.size() < 10 || bytes.compare(0, 6, kMagic, 6) != 0) throw fail("missing the \\x93NUMPY magic");
  int major = uint8_t(bytes[6]);
  if (major < 1 || major > 3) throw fail("unsupported format version " + std::to_string(major));
  size_t width = major == 1 ? 2 : 4;
  size_t header_start = 8 + width;
  if (bytes.size() < header_start) throw fail("truncated header");
  size_t header_len = read_le(bytes, 8, width);
  if (header_start + header_len > bytes.size()) throw fail("header runs past the end of the file");
  std::string header = bytes.substr(header_start, header_len);

  std::smatch m;
  if (!std::regex_search(header, m, std::regex(R"('descr'\s*:\s*'([^']*)')"))) throw fail("no 'descr' in header");
  std::string descr = m[1];
  at::ScalarType dtype;
  if (descr == "<f4" || descr == "=f4") dtype = at::kFloat;
  else if (descr == "<f8" || descr == "=f8") dtype = at::kDouble;
  else throw Error(name + ": unsupported dtype '" + descr + "' (flowmatch reads little-endian float32 and float64)");
  if (!std::regex_search(header, m, std::regex(R"('fortran_order'\s*:\s*(True|False))"))) throw fail("no 'fortran_order' in header");
  if (m[1] == "True") throw Error(name + ": Fortran-ordered arrays are not supported; save with C order");
  if (!std::regex_search(header, m, std::regex(R"('shape'\s*:\s*\(([^)]*)\))"))) throw fail("no 'shape' in header");
  std::vector<int64_t> shape;
  std::string dims = m[1];
  std::regex number(R"(\d+)");
  int64_t count = 1;
  for (auto it = std::sregex_iterator(dims.begin(), dims.end(), number); it != std::sregex_iterator(); ++it) {
    if (it->str().size() > 12) throw fail("dimension too large");
    int64_t dim = std::stoll(it->str());
    shape.push_back(dim);
    count *= dim;
    if (count > kMaxElements) throw fail("shape too large");
  }
  size_t item = dtype == at::kFloat ? 4 : 8;
  size_t data_start = header_start + header_len;
  size_t expected = size_t(count) * item;
  if (bytes.size() - data_start != expected)
    throw fail("shape (" + dims + ") needs " + std::to_string(expected) + " bytes of data but the file has " +
               std::to_string(bytes.size() - data_start));
  at::Tensor out = at::empty(shape, at::TensorOptions().dtype(dtype));
  if (expected > 0) std::memcpy(out.data_ptr(), bytes.data() + data_start, expected);
  return out.to(at::kFloat);
}

at::Tensor read_npy(const std::string& path) { return parse_npy(read_file(path), path); }

void write_npy(const std::string& path, const at::Tensor& tensor) {
  at::Tensor t = tensor.contiguous().cpu();
  std::string descr;
  if (t.scalar_type() == at::kFloat) descr = "<f4";
  else if (t.scalar_type() == at::kDouble) descr = "<f8";
  else throw Error("write_npy: only float32 and float64 tensors are written");
  std::string shape;  // Python tuple syntax: "3," for 1-D, "3, 2" for 2-D
  for (int64_t i = 0; i < t.dim(); ++i) shape += (i ? ", " : "") + std::to_string(t.size(i));
  if (t.dim() == 1) shape += ",";
  std::string header = "{'descr': '" + descr + "', 'fortran_order': False, 'shape': (" + shape + "), }";
  // Pad with spaces so magic + version + length + header + '\n' is a multiple of 64.
  size_t total = 10 + header.size() + 1;
  header.append((64 - total % 64) % 64, ' ');
  header.push_back('\n');
  std::string bytes(kMagic, 6);
  bytes.push_back('\x01');
  bytes.push_back('\x00');
  bytes.push_back(char(header.size() & 0xff));
  bytes.push_back(char(header.size() >> 8));
  bytes += header;
  bytes.append(static_cast<const char*>(t.data_ptr()), size_t(t.numel()) * t.element_size());
  write_file_atomically(path, bytes);
}

}  // namespace flowmatch
