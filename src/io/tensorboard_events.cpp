#include "flowmatch/io/tensorboard_events.h"

#include <unistd.h>

#include <chrono>
#include <cstring>

#include "flowmatch/core/error.h"
#include "flowmatch/io/crc32c.h"

namespace flowmatch {

namespace {
// Protocol buffers' wire format: each field is key = (number << 3 | wire type), then its value:
// wire type 0 a varint (7 bits a byte, low first, high bit = more follow), 1 eight bytes, 2 a varint
// length and the bytes, 5 four bytes; fixed-size values little-endian.
enum Wire { kVarint = 0, kFixed64 = 1, kBytes = 2, kFixed32 = 5 };

void put_varint(std::string& out, uint64_t value) {
  while (value >= 0x80) {
    out.push_back(char((value & 0x7F) | 0x80));
    value >>= 7;
  }
  out.push_back(char(value));
}
template <typename T>
void put_little_endian(std::string& out, T value) {
  for (size_t i = 0; i < sizeof(T); ++i) out.push_back(char(value >> (8 * i) & 0xFF));
}
void put_key(std::string& out, int field, Wire wire) { put_varint(out, uint64_t(field) << 3 | wire); }
void put_int(std::string& out, int field, int64_t value) {
  put_key(out, field, kVarint);
  put_varint(out, uint64_t(value));
}
void put_bytes(std::string& out, int field, const std::string& bytes) {
  put_key(out, field, kBytes);
  put_varint(out, bytes.size());
  out += bytes;
}
void put_double(std::string& out, int field, double value) {
  uint64_t bits;
  std::memcpy(&bits, &value, sizeof bits);
  put_key(out, field, kFixed64);
  put_little_endian(out, bits);
}
void put_float(std::string& out, int field, float value) {
  uint32_t bits;
  std::memcpy(&bits, &value, sizeof bits);
  put_key(out, field, kFixed32);
  put_little_endian(out, bits);
}

double unix_seconds() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

// Event { double wall_time = 1; int64 step = 2; string file_version = 3; Summary summary = 5; }
std::string event(int64_t step, int field, const std::string& bytes) {
  std::string out;
  put_double(out, 1, unix_seconds());
  put_int(out, 2, step);
  put_bytes(out, field, bytes);
  return out;
}
// Summary { repeated Value value = 1; }, Value { string tag = 1; float simple_value = 2; Image image = 4; }:
// one value, `value` holding its field after the tag.
std::string summary(const std::string& tag, const std::string& value) {
  std::string one;
  put_bytes(one, 1, tag);
  one += value;
  std::string out;
  put_bytes(out, 1, one);
  return out;
}

std::string host_name() {
  char name[256] = {};
  if (gethostname(name, sizeof name - 1) != 0 || !name[0]) return "localhost";
  return name;
}

// A PNG's width and height, from its IHDR chunk (bytes 16..23, big-endian, after the 8-byte
// signature and the chunk's length and type).
std::pair<uint32_t, uint32_t> png_size(const std::string& png) {
  static const std::string signature = "\x89PNG\r\n\x1a\n";
  if (png.size() < 24 || png.compare(0, 8, signature) != 0 || png.compare(12, 4, "IHDR") != 0)
    throw Error("a TensorBoard picture must be PNG bytes");
  auto big_endian = [&](size_t at) {
    uint32_t v = 0;
    for (size_t i = 0; i < 4; ++i) v = v << 8 | uint8_t(png[at + i]);
    return v;
  };
  return {big_endian(16), big_endian(20)};
}
}  // namespace

TensorBoardEvents::TensorBoardEvents(const std::string& dir)
    : path_(dir + "/events.out.tfevents." + std::to_string(int64_t(unix_seconds())) + "." + host_name()) {
  out_.open(path_, std::ios::binary | std::ios::app);
  if (!out_) throw Error("cannot create the TensorBoard event file " + path_);
  std::string version;
  put_bytes(version, 3, "brain.Event:2");
  std::string first;
  put_double(first, 1, unix_seconds());
  write_event(first + version);
}

void TensorBoardEvents::add_scalar(const std::string& tag, int64_t step, double value) {
  std::string simple;
  put_float(simple, 2, float(value));
  write_event(event(step, 5, summary(tag, simple)));
}

// Image { int32 height = 1; int32 width = 2; int32 colorspace = 3; bytes encoded_image_string = 4; }
void TensorBoardEvents::add_png(const std::string& tag, int64_t step, const std::string& png) {
  auto [width, height] = png_size(png);
  std::string image;
  put_int(image, 1, height);
  put_int(image, 2, width);
  put_int(image, 3, 3);  // RGB
  put_bytes(image, 4, png);
  std::string value;
  put_bytes(value, 4, image);
  write_event(event(step, 5, summary(tag, value)));
}

void TensorBoardEvents::write_event(const std::string& data) {
  std::string length;
  put_little_endian(length, uint64_t(data.size()));
  std::string record = length;
  put_little_endian(record, masked_crc32c(length));
  record += data;
  put_little_endian(record, masked_crc32c(data));
  out_.write(record.data(), std::streamsize(record.size()));
  out_.flush();
  if (!out_) throw Error("cannot write the TensorBoard event file " + path_ + " (disk full?)");
}

}  // namespace flowmatch
