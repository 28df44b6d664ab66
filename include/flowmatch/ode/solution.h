#pragma once
#include <ATen/core/Tensor.h>

#include <functional>
#include <vector>

namespace flowmatch {

// The right-hand side dx/dt = v(x, t) of the ODE being integrated.
using VelocityFn = std::function<at::Tensor(const at::Tensor& x, double t)>;

// What an integration (or a sampler) returns.
struct Solution {
  at::Tensor x;                    // the state at t1
  int64_t nfe = 0;                 // network (velocity) evaluations
  std::vector<double> times;       // with keep_trajectory: every accepted time, t0 first
  std::vector<at::Tensor> states;  // the states at those times
};

}  // namespace flowmatch
