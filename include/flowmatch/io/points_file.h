#pragma once
#include <ATen/core/Tensor.h>

#include <memory>
#include <string>

namespace flowmatch {

// Points files by extension: .npy or .csv. Reading returns float32 [N, D] (a 1-D array is [N, 1])
// and rejects empty sets and non-finite values, naming the file and the first bad row.
at::Tensor read_points(const std::string& path);
// The same for points with missing entries (impute): NaN marks them, and only infinities are refused.
at::Tensor read_partial_points(const std::string& path);
void write_points(const std::string& path, const at::Tensor& points);
// A points file of `rows` x `columns` written in pieces (append() takes the next rows, in order),
// so that a set larger than memory goes to disk in bounded memory: .npy (float32) or .csv, the
// same bytes as write_points of the whole. The file appears, complete, at commit(), which throws
// unless every row was given; an unfinished writer (an error half-way) leaves nothing behind.
class PointsWriter {
 public:
  PointsWriter(const std::string& path, int64_t rows, int64_t columns);
  ~PointsWriter();
  void append(const at::Tensor& points);
  void commit();

 private:
  struct Format;
  std::unique_ptr<Format> format_;
};

// Throws Error unless `path` ends in .npy or .csv.
void check_points_extension(const std::string& path);

}  // namespace flowmatch
