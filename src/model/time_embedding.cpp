#include "flowmatch/model/time_embedding.h"

#include <torch/torch.h>

#include <cmath>

namespace flowmatch {

at::Tensor sinusoidal_frequencies(int64_t dim) {
  int64_t half = dim / 2;
  return torch::exp(torch::arange(half, torch::kFloat) * (-std::log(10000.0) / double(half - 1)));
}

at::Tensor sinusoidal_embedding(const at::Tensor& t, const at::Tensor& frequencies, double scale) {
  // In t's dtype: float32 normally, float64 for a model converted to double.
  at::Tensor angles = (t * scale).unsqueeze(1) * frequencies.to(t.scalar_type()).unsqueeze(0);
  return torch::cat({angles.sin(), angles.cos()}, 1);
}

}  // namespace flowmatch
