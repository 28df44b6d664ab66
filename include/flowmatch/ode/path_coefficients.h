#pragma once
#include <ATen/core/Tensor.h>

#include <functional>

namespace flowmatch {

// The affine path a model was trained on, x_t = alpha_t x1 + sigma_t x0 (t = 0 noise, t = 1 data),
// as its two coefficients at one time: what sampling needs of it to move along the path
// (stochastic sampling, editing). The objective layer's schedulers define them; a trained model's
// usage (train/model_usage.h) hands them down.
struct PathCoefficients {
  double alpha = 0, sigma = 1;
  double d_alpha = 1, d_sigma = -1;  // their time derivatives
};
using PathAt = std::function<PathCoefficients(double t)>;

// The noise that x came from, predicted from the velocity v = v(x, t) of a flow from x0 ~ N(0, I)
// drawn independently of x1: x = alpha E[x1 | x] + sigma E[x0 | x] and v = d_alpha E[x1 | x] +
// d_sigma E[x0 | x] give
//   E[x0 | x_t = x] = (alpha v - d_alpha x) / (alpha d_sigma - d_alpha sigma)   (CondOT: x - t v),
// and the score of the path's marginal is grad log p_t(x) = -E[x0 | x] / sigma_t (Tweedie).
at::Tensor predicted_noise(const PathCoefficients& path, const at::Tensor& x, const at::Tensor& v);

}  // namespace flowmatch
