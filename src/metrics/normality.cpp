#include "flowmatch/metrics/normality.h"

#include <torch/torch.h>

#include <cmath>

#include "flowmatch/core/error.h"

namespace flowmatch {

Normality normality_of(const at::Tensor& z) {
  at::Tensor x = z.reshape({-1}).to(torch::kDouble);
  const int64_t n = x.size(0);
  if (n < 2) throw Error("normality needs at least 2 values, got " + std::to_string(n));
  Normality out;
  out.values = n;
  out.mean = x.mean().item<double>();
  at::Tensor centred = x - out.mean;
  out.variance = centred.pow(2).mean().item<double>();
  const double sd = std::sqrt(out.variance);
  out.skewness = (centred / sd).pow(3).mean().item<double>();             // E[(x - m)^3] / s^3
  out.excess_kurtosis = (centred / sd).pow(4).mean().item<double>() - 3;  // E[(x - m)^4] / s^4 - 3
  // Kolmogorov-Smirnov: at the i-th smallest value (i from 1) the empirical CDF steps from
  // (i - 1) / n to i / n; Phi(x) = erfc(-x / sqrt 2) / 2.
  at::Tensor sorted = std::get<0>(x.sort());
  at::Tensor phi = 0.5 * torch::erfc(-sorted / std::sqrt(2.0));
  at::Tensor steps = torch::arange(1, n + 1, torch::kDouble) / double(n);
  out.ks_distance = torch::max((steps - phi).max(), (phi - (steps - 1.0 / double(n))).max()).item<double>();
  out.ks_critical_1pct = 1.628 / std::sqrt(double(n));
  return out;
}

}  // namespace flowmatch
