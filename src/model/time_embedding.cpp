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

at::Tensor chebyshev_basis(const at::Tensor& t, int64_t count) {
  at::Tensor u = 2 * t - 1, previous = torch::ones_like(t), current = u;
  std::vector<at::Tensor> columns;
  for (int64_t k = 1; k <= count; ++k) {
    columns.push_back(current);
    at::Tensor next = 2 * u * current - previous;  // T_{k+1} = 2u T_k - T_{k-1}
    previous = current;
    current = next;
  }
  return torch::stack(columns, 1);
}

}  // namespace flowmatch
