#pragma once
#include <ATen/core/Generator.h>
#include <ATen/core/Tensor.h>

#include <string>

namespace flowmatch {

// How training draws t in [0, 1]: "uniform", or "logit-normal", t = sigmoid(mean + std * z).
struct TimeSampler {
  std::string name = "uniform";
  double mean = 0.0;
  double std = 1.0;

  // Throws Error for an unknown name or std <= 0.
  void validate() const;
  at::Tensor operator()(int64_t n, at::Generator& gen) const;
};

}  // namespace flowmatch
