#pragma once
#include <functional>

namespace flowmatch {

// The affine path a model was trained on, x_t = alpha_t x1 + sigma_t x0 (t = 0 noise, t = 1 data),
// as its two coefficients at one time: what sampling needs of it to move along the path
// (stochastic sampling, editing). The objective layer's schedulers define them; a trained model's
// usage (train/model_usage.h) hands them down.
struct PathCoefficients {
  double alpha = 0, sigma = 1;
};
using PathAt = std::function<PathCoefficients(double t)>;

}  // namespace flowmatch
