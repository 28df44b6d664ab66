#pragma once
#include <ATen/core/Generator.h>
#include <ATen/core/Tensor.h>

#include <string>

namespace flowmatch {

// Training data for points: a built-in distribution (fresh samples every batch) or a fixed set of
// points (a .npy/.csv file, or `finite_n` points drawn once from a built-in, as the seed did).
class PointData {
 public:
  // `source` is a built-in name or a file path; finite_n > 0 fixes a built-in to that many points.
  PointData(const std::string& source, int64_t finite_n, at::Generator& gen);
  // A fixed set of points [N, D] named `source`.
  PointData(std::string source, at::Tensor points);

  const std::string& source() const { return source_; }
  int64_t dim() const { return dim_; }
  bool is_finite() const { return points_.defined(); }
  const at::Tensor& points() const { return points_; }  // a fixed set's points; undefined for a built-in

  // A batch [b, D]: fresh draws from a built-in, or rows drawn uniformly with replacement.
  at::Tensor batch(int64_t b, at::Generator& gen) const;
  // n points to compare samples against: fresh draws from a built-in, else the fixed set itself
  // (rows drawn without replacement when it holds more than n).
  at::Tensor reference(int64_t n, at::Generator& gen) const;

 private:
  std::string source_;
  int64_t dim_ = 2;
  at::Tensor points_;  // defined for a fixed set
};

}  // namespace flowmatch
