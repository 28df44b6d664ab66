#include "flowmatch/io/npy.h"

#include <ATen/Functions.h>

#include <cctype>
#include <cstring>
#include <fstream>

#include "flowmatch/core/error.h"
#include "flowmatch/io/atomic_file.h"
#include "flowmatch/io/file_shape.h"

namespace flowmatch {

namespace {
constexpr char kMagic[] = "\x93NUMPY";
constexpr uint64_t kMaxElements = uint64_t(1) << 33;  // 32 GiB of float32: refuse lying headers

uint32_t read_le(const std::string& bytes, size_t offset, size_t width) {
  uint32_t value = 0;
  for (size_t i = 0; i < width; ++i) value |= uint32_t(uint8_t(bytes[offset + i])) << (8 * i);
  return value;
}

Error invalid_npy(const std::string& name, const std::string& why) {
  return Error(name + ": not a valid .npy file: " + why);
}

// The header is a Python dict literal, {'descr': '<f4', 'fortran_order': False, 'shape': (3, 2), }.
// It is read by plain scanning: a regex over a long hostile header overflowed the stack.
class HeaderScanner {
 public:
  HeaderScanner(const std::string& header, const std::string& name) : header_(header), name_(name) {}

  // Moves to the value of 'key' (past the quoted key, the colon and spaces).
  void seek(const std::string& key) {
    size_t at = header_.find("'" + key + "'");
    if (at == std::string::npos) throw fail("no '" + key + "' in header");
    pos_ = at + key.size() + 2;
    skip_spaces();
    if (pos_ >= header_.size() || header_[pos_] != ':') throw fail("no ':' after '" + key + "'");
    ++pos_;
    skip_spaces();
  }
  // A quoted string: 'text'.
  std::string quoted() {
    if (pos_ >= header_.size() || header_[pos_] != '\'') throw fail("expected a quoted string");
    size_t end = header_.find('\'', pos_ + 1);
    if (end == std::string::npos) throw fail("unterminated string");
    if (end - pos_ > 32) throw fail("a string in the header is too long for a dtype");
    std::string text = header_.substr(pos_ + 1, end - pos_ - 1);
    pos_ = end + 1;
    return text;
  }
  bool boolean() {
    if (header_.compare(pos_, 4, "True") == 0) return true;
    if (header_.compare(pos_, 5, "False") == 0) return false;
    throw fail("expected True or False");
  }
  // A tuple of sizes: (), (3,), (3, 2).
  std::vector<uint64_t> sizes() {
    if (pos_ >= header_.size() || header_[pos_] != '(') throw fail("expected a shape tuple");
    ++pos_;
    std::vector<uint64_t> dims;
    while (true) {
      skip_spaces();
      if (pos_ >= header_.size()) throw fail("unterminated shape tuple");
      if (header_[pos_] == ')') return dims;
      size_t digits = 0;
      uint64_t dim = 0;
      while (pos_ < header_.size() && std::isdigit(static_cast<unsigned char>(header_[pos_]))) {
        if (++digits > 12) throw fail("dimension too large");
        dim = dim * 10 + (header_[pos_++] - '0');
      }
      if (digits == 0) throw fail("the shape holds something other than sizes");
      dims.push_back(dim);
      skip_spaces();
      if (pos_ < header_.size() && header_[pos_] == ',') ++pos_;
    }
  }

 private:
  void skip_spaces() {
    while (pos_ < header_.size() && std::isspace(static_cast<unsigned char>(header_[pos_]))) ++pos_;
  }
  Error fail(const std::string& why) const { return invalid_npy(name_, why); }

  const std::string& header_;
  const std::string& name_;
  size_t pos_ = 0;
};
}  // namespace

at::Tensor parse_npy(const std::string& bytes, const std::string& name) {
  auto fail = [&](const std::string& why) { return invalid_npy(name, why); };
  if (bytes.size() < 10 || bytes.compare(0, 6, kMagic, 6) != 0) throw fail("missing the \\x93NUMPY magic");
  int major = uint8_t(bytes[6]);
  if (major < 1 || major > 3) throw fail("unsupported format version " + std::to_string(major));
  size_t width = major == 1 ? 2 : 4;
  size_t header_start = 8 + width;
  if (bytes.size() < header_start) throw fail("truncated header");
  size_t header_len = read_le(bytes, 8, width);
  if (header_start + header_len > bytes.size()) throw fail("header runs past the end of the file");
  std::string header = bytes.substr(header_start, header_len);

  HeaderScanner scan(header, name);
  scan.seek("descr");
  std::string descr = scan.quoted();
  at::ScalarType dtype;
  if (descr == "<f4" || descr == "=f4") dtype = at::kFloat;
  else if (descr == "<f8" || descr == "=f8") dtype = at::kDouble;
  else if (descr == "<i8" || descr == "=i8") dtype = at::kLong;
  else throw Error(name + ": unsupported dtype '" + descr + "' (flowmatch reads little-endian float32, float64 and int64)");
  scan.seek("fortran_order");
  if (scan.boolean()) throw Error(name + ": Fortran-ordered arrays are not supported; save with C order");
  scan.seek("shape");
  std::vector<uint64_t> sizes = scan.sizes();
  std::optional<uint64_t> count = element_count(sizes, kMaxElements);
  if (!count) throw fail("shape too large");
  std::vector<int64_t> shape(sizes.begin(), sizes.end());
  std::string dims;
  for (uint64_t size : sizes) dims += (dims.empty() ? "" : ", ") + std::to_string(size);
  size_t item = dtype == at::kFloat ? 4 : 8;
  size_t data_start = header_start + header_len;
  size_t expected = size_t(*count) * item;
  if (bytes.size() - data_start != expected)
    throw fail("shape (" + dims + ") needs " + std::to_string(expected) + " bytes of data but the file has " +
               std::to_string(bytes.size() - data_start));
  at::Tensor out = at::empty(shape, at::TensorOptions().dtype(dtype));
  if (expected > 0) std::memcpy(out.data_ptr(), bytes.data() + data_start, expected);
  return dtype == at::kLong ? out : out.to(at::kFloat);
}

at::Tensor read_npy(const std::string& path) { return parse_npy(read_file(path), path); }

bool npy_holds_int64(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  std::string start(12, '\0');
  if (!file.read(start.data(), 12) || start.compare(0, 6, kMagic, 6) != 0) return false;
  size_t width = uint8_t(start[6]) == 1 ? 2 : 4;
  std::string header(read_le(start, 8, width), '\0');
  file.seekg(std::streamoff(8 + width));
  if (header.size() > (1u << 20) || !file.read(header.data(), std::streamsize(header.size()))) return false;
  try {
    HeaderScanner scan(header, path);
    scan.seek("descr");
    std::string descr = scan.quoted();
    return descr == "<i8" || descr == "=i8";
  } catch (const Error&) {
    return false;
  }
}

namespace {
// magic, version 1.0, the header's length, and the header: a Python dict literal padded with
// spaces so that the data starts at a multiple of 64 bytes.
std::string npy_header(at::ScalarType type, const std::vector<int64_t>& sizes) {
  std::string descr;
  if (type == at::kFloat) descr = "<f4";
  else if (type == at::kDouble) descr = "<f8";
  else if (type == at::kLong) descr = "<i8";
  else throw Error("write_npy: only float32, float64 and int64 tensors are written");
  std::string shape;  // Python tuple syntax: "3," for 1-D, "3, 2" for 2-D
  for (size_t i = 0; i < sizes.size(); ++i) shape += (i ? ", " : "") + std::to_string(sizes[i]);
  if (sizes.size() == 1) shape += ",";
  std::string header = "{'descr': '" + descr + "', 'fortran_order': False, 'shape': (" + shape + "), }";
  size_t total = 10 + header.size() + 1;
  header.append((64 - total % 64) % 64, ' ');
  header.push_back('\n');
  std::string bytes(kMagic, 6);
  bytes.push_back('\x01');
  bytes.push_back('\x00');
  bytes.push_back(char(header.size() & 0xff));
  bytes.push_back(char(header.size() >> 8));
  return bytes + header;
}

std::string_view data_bytes(const at::Tensor& t) {
  return {static_cast<const char*>(t.data_ptr()), size_t(t.numel()) * t.element_size()};
}
}  // namespace

void write_npy(const std::string& path, const at::Tensor& tensor) {
  at::Tensor t = tensor.contiguous().cpu();
  write_file_atomically(path, {npy_header(t.scalar_type(), t.sizes().vec()), data_bytes(t)});
}

NpyWriter::NpyWriter(const std::string& path, at::ScalarType type, std::vector<int64_t> shape)
    : file_(path), type_(type), shape_(std::move(shape)) {
  if (shape_.empty()) throw Error("NpyWriter: an array written in rows needs at least one dimension");
  file_.write(npy_header(type_, shape_));
}

void NpyWriter::append(const at::Tensor& rows) {
  std::vector<int64_t> row_shape(shape_.begin() + 1, shape_.end());
  if (rows.dim() != int64_t(shape_.size()) || rows.sizes().slice(1).vec() != row_shape || rows_ + rows.size(0) > shape_[0])
    throw Error("cannot write " + file_.path() + ": rows of shape " + c10::str(rows.sizes()) + " do not fit an array of shape " +
                c10::str(at::IntArrayRef(shape_)) + " after " + std::to_string(rows_) + " rows");
  file_.write(data_bytes(rows.to(type_).contiguous().cpu()));
  rows_ += rows.size(0);
}

void NpyWriter::commit() {
  if (rows_ != shape_[0])
    throw Error("cannot write " + file_.path() + ": " + std::to_string(rows_) + " of its " + std::to_string(shape_[0]) +
                " rows were given");
  file_.commit();
}

}  // namespace flowmatch
