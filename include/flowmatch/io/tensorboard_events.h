#pragma once
#include <cstdint>
#include <fstream>
#include <string>

namespace flowmatch {

// A TensorBoard event file, `events.out.tfevents.<unix time>.<host>` in a folder, written as
// TensorFlow writes one: a sequence of records
//   uint64 length | uint32 masked_crc32c(length) | data | uint32 masked_crc32c(data)   (little-endian)
// whose data are tensorflow.Event protobuf messages. The first event holds the file version
// "brain.Event:2"; each later one a Summary of one value at a step: a scalar (simple_value) or a
// PNG picture (Summary.Image). Each event is flushed as it is written, so TensorBoard follows a
// run live. Throws Error naming the file when it cannot be written.
class TensorBoardEvents {
 public:
  explicit TensorBoardEvents(const std::string& dir);
  void add_scalar(const std::string& tag, int64_t step, double value);
  // `png`: the bytes of a PNG file (its size is read from its header); throws Error for other bytes.
  void add_png(const std::string& tag, int64_t step, const std::string& png);
  const std::string& path() const { return path_; }

 private:
  void write_event(const std::string& event);
  std::string path_;
  std::ofstream out_;
};

}  // namespace flowmatch
