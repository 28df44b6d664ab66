#include "flowmatch/ode/path_coefficients.h"

#include <torch/torch.h>

namespace flowmatch {

at::Tensor predicted_noise(const PathCoefficients& p, const at::Tensor& x, const at::Tensor& v) {
  return (p.alpha * v - p.d_alpha * x) / (p.alpha * p.d_sigma - p.d_alpha * p.sigma);
}

}  // namespace flowmatch
