#include "flowmatch/io/safetensors.h"

#include <ATen/Functions.h>

#include <algorithm>
#include <cstring>
#include <tuple>
#include <nlohmann/json.hpp>

#include "flowmatch/core/error.h"
#include "flowmatch/io/atomic_file.h"
#include "flowmatch/io/file_shape.h"

namespace flowmatch {

namespace {
constexpr uint64_t kMaxHeaderBytes = 100 * 1024 * 1024;  // the format's own bound

const std::vector<std::pair<std::string, at::ScalarType>>& dtype_names() {
  static const std::vector<std::pair<std::string, at::ScalarType>> names = {
      {"F64", at::kDouble}, {"F32", at::kFloat}, {"F16", at::kHalf}, {"BF16", at::kBFloat16},
      {"I64", at::kLong},   {"I32", at::kInt},   {"I16", at::kShort}, {"I8", at::kChar},
      {"U8", at::kByte},    {"BOOL", at::kBool}};
  return names;
}

std::string dtype_name(at::ScalarType type) {
  for (const auto& [name, t] : dtype_names())
    if (t == type) return name;
  throw Error(std::string("safetensors: cannot store dtype ") + c10::toString(type));
}

// Tensor entries with their byte ranges, for the overlap check.
struct Entry {
  std::string name;
  at::ScalarType dtype;
  std::vector<int64_t> shape;
  uint64_t begin, end;
};
}  // namespace

const at::Tensor& Safetensors::at(const std::string& name) const {
  for (const auto& [key, tensor] : tensors)
    if (key == name) return tensor;
  throw Error("safetensors: no tensor named '" + name + "'");
}

bool Safetensors::has(const std::string& name) const {
  return std::any_of(tensors.begin(), tensors.end(), [&](const auto& entry) { return entry.first == name; });
}

Safetensors parse_safetensors(const std::string& bytes, const std::string& name) {
  auto fail = [&](const std::string& why) { return Error(name + ": not a valid safetensors file: " + why); };
  if (bytes.size() < 8) throw fail("shorter than its 8-byte header length");
  uint64_t header_len = 0;
  for (int i = 0; i < 8; ++i) header_len |= uint64_t(uint8_t(bytes[i])) << (8 * i);
  if (header_len > kMaxHeaderBytes) throw fail("header length " + std::to_string(header_len) + " exceeds 100 MiB");
  if (8 + header_len > bytes.size()) throw fail("header length " + std::to_string(header_len) + " runs past the end of the file");
  // JSON objects keep one value per key, so top-level keys are counted while parsing to catch
  // duplicate names.
  size_t raw_keys = 0;
  nlohmann::json::parser_callback_t count_keys = [&](int depth, nlohmann::json::parse_event_t event, nlohmann::json&) {
    if (depth == 1 && event == nlohmann::json::parse_event_t::key) ++raw_keys;
    return true;
  };
  nlohmann::json header = nlohmann::json::parse(bytes.begin() + 8, bytes.begin() + 8 + long(header_len), count_keys, false);
  if (header.is_discarded() || !header.is_object()) throw fail("header is not a JSON object");
  if (raw_keys != header.size()) throw fail("duplicate tensor names");
  uint64_t data_size = bytes.size() - 8 - header_len;

  Safetensors out;
  std::vector<Entry> entries;
  for (const auto& [key, value] : header.items()) {
    if (key == "__metadata__") {
      if (!value.is_object()) throw fail("__metadata__ is not an object");
      for (const auto& [mkey, mvalue] : value.items()) {
        if (!mvalue.is_string()) throw fail("__metadata__ value '" + mkey + "' is not a string");
        out.metadata[mkey] = mvalue.get<std::string>();
      }
      continue;
    }
    if (!value.is_object() || !value.contains("dtype") || !value.contains("shape") || !value.contains("data_offsets"))
      throw fail("entry '" + key + "' lacks dtype, shape or data_offsets");
    Entry e{key, at::kFloat, {}, 0, 0};
    const auto& dtype = value["dtype"];
    auto found = std::find_if(dtype_names().begin(), dtype_names().end(),
                              [&](const auto& p) { return dtype.is_string() && p.first == dtype.get<std::string>(); });
    if (found == dtype_names().end()) throw fail("entry '" + key + "' has unknown dtype " + dtype.dump());
    e.dtype = found->second;
    const auto& shape = value["shape"];
    if (!shape.is_array()) throw fail("entry '" + key + "' shape is not a list");
    std::vector<uint64_t> sizes;
    for (const auto& dim : shape) {
      if (!dim.is_number_unsigned()) throw fail("entry '" + key + "' has a shape entry that is not a non-negative integer");
      sizes.push_back(dim.get<uint64_t>());
    }
    // Every dtype takes at least a byte, so no tensor in the file holds more elements than it has bytes.
    std::optional<uint64_t> count = element_count(sizes, data_size);
    if (!count) throw fail("entry '" + key + "' shape is larger than the file");
    e.shape.assign(sizes.begin(), sizes.end());
    const auto& offsets = value["data_offsets"];
    if (!offsets.is_array() || offsets.size() != 2 || !offsets[0].is_number_unsigned() || !offsets[1].is_number_unsigned())
      throw fail("entry '" + key + "' data_offsets is not [begin, end]");
    e.begin = offsets[0].get<uint64_t>();
    e.end = offsets[1].get<uint64_t>();
    if (e.begin > e.end || e.end > data_size) throw fail("entry '" + key + "' data_offsets lie outside the data");
    uint64_t item = c10::elementSize(e.dtype);
    if (e.end - e.begin != *count * item)
      throw fail("entry '" + key + "' holds " + std::to_string(e.end - e.begin) + " bytes but its shape needs " +
                 std::to_string(*count * item));
    entries.push_back(e);
  }
  // Sorted by offset, the entries must tile the data exactly: no overlaps, no holes.
  std::vector<const Entry*> by_offset;
  for (const auto& e : entries) by_offset.push_back(&e);
  std::sort(by_offset.begin(), by_offset.end(),
            [](const Entry* a, const Entry* b) { return std::tie(a->begin, a->end) < std::tie(b->begin, b->end); });
  uint64_t cursor = 0;
  for (const Entry* e : by_offset) {
    if (e->begin < cursor) throw fail("entry '" + e->name + "' overlaps another entry");
    if (e->begin > cursor) throw fail("a hole in the data before entry '" + e->name + "'");
    cursor = e->end;
  }
  if (cursor != data_size) throw fail("data has " + std::to_string(data_size - cursor) + " trailing bytes");

  const char* data = bytes.data() + 8 + header_len;
  for (const Entry* e : by_offset) {  // the order of writing
    at::Tensor t = at::empty(e->shape, at::TensorOptions().dtype(e->dtype));
    if (e->end > e->begin) std::memcpy(t.data_ptr(), data + e->begin, e->end - e->begin);
    out.tensors.emplace_back(e->name, t);
  }
  return out;
}

Safetensors read_safetensors(const std::string& path) { return parse_safetensors(read_file(path), path); }

at::Tensor bytes_tensor(std::string bytes) {
  auto* owned = new std::string(std::move(bytes));  // the tensor keeps the string, rather than a copy of it
  return at::from_blob(owned->data(), {int64_t(owned->size())}, [owned](void*) { delete owned; }, at::kByte);
}

void write_safetensors(const std::string& path, const Safetensors& file) {
  nlohmann::ordered_json header;
  if (!file.metadata.empty()) header["__metadata__"] = file.metadata;
  std::vector<at::Tensor> contiguous;  // the tensors' bytes are written from these, without a copy into one buffer
  uint64_t end = 0;
  for (const auto& [name, tensor] : file.tensors) {
    const at::Tensor& t = contiguous.emplace_back(tensor.detach().cpu().contiguous());
    uint64_t begin = end;
    end += uint64_t(t.numel()) * t.element_size();
    header[name] = {{"dtype", dtype_name(t.scalar_type())}, {"shape", t.sizes().vec()}, {"data_offsets", {begin, end}}};
  }
  std::string json = header.dump();
  json.append((8 - json.size() % 8) % 8, ' ');  // keep the data 8-byte aligned
  std::string length(8, '\0');
  for (int i = 0; i < 8; ++i) length[i] = char((uint64_t(json.size()) >> (8 * i)) & 0xff);
  std::vector<std::string_view> pieces{length, json};
  for (const auto& t : contiguous) pieces.emplace_back(static_cast<const char*>(t.data_ptr()), size_t(t.numel()) * t.element_size());
  write_file_atomically(path, pieces);
}

}  // namespace flowmatch
