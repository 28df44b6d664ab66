#include "flowmatch/data/point_data.h"

#include <torch/torch.h>

#include "flowmatch/core/error.h"
#include "flowmatch/data/toy_distributions.h"
#include "flowmatch/io/points_file.h"

namespace flowmatch {

PointData::PointData(const std::string& source, int64_t finite_n, at::Generator& gen) : source_(source) {
  if (finite_n < 0) throw Error("--data-n must be positive, got " + std::to_string(finite_n));
  if (is_toy_distribution(source)) {
    if (finite_n > 0) points_ = sample_toy(source, finite_n, gen);
  } else if (source.find('.') != std::string::npos || source.find('/') != std::string::npos) {
    points_ = read_points(source);
    if (finite_n > 0) throw Error("--data-n applies to built-in distributions, not to the file " + source);
  } else {
    sample_toy(source, 1, gen);  // throws the unknown-name message listing the built-ins
  }
  if (points_.defined()) dim_ = points_.size(1);
}

PointData::PointData(std::string source, at::Tensor points)
    : source_(std::move(source)), dim_(points.size(1)), points_(std::move(points)) {}

at::Tensor PointData::batch(int64_t b, at::Generator& gen) const {
  if (!is_finite()) return sample_toy(source_, b, gen);
  return points_.index_select(0, torch::randint(0, points_.size(0), {b}, gen, torch::kLong));
}

at::Tensor PointData::reference(int64_t n, at::Generator& gen) const {
  if (!is_finite()) return sample_toy(source_, n, gen);
  if (points_.size(0) <= n) return points_;
  return points_.index_select(0, torch::randperm(points_.size(0), gen, torch::kLong).slice(0, 0, n));
}

}  // namespace flowmatch
