#pragma once
#include <ATen/core/Generator.h>
#include <ATen/core/Tensor.h>

#include <string>

namespace flowmatch {

// How training draws t in [0, 1]: "uniform"; "logit-normal", t = sigmoid(mean + std * z); or
// "grid", t = k / grid_points with k uniform in 0 .. grid_points - 1 (the start times of a
// grid_points-step Euler sampler, which is what distillation trains).
struct TimeSampler {
  std::string name = "uniform";
  double mean = 0.0;
  double std = 1.0;
  int64_t grid_points = 1;

  // Throws Error for an unknown name, std <= 0 or grid_points < 1.
  void validate() const;
  at::Tensor operator()(int64_t n, at::Generator& gen) const;
};

}  // namespace flowmatch
