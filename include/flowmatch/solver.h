#pragma once
#include <ATen/core/Tensor.h>

#include <functional>
#include <string>
#include <vector>

namespace flowmatch {

// The right-hand side dx/dt = v(x, t) of the ODE being integrated.
using VelocityFn = std::function<at::Tensor(const at::Tensor& x, double t)>;

struct SolverOptions {
  std::string method = "rk4";  // euler | midpoint | heun | rk4 (fixed grid) | dopri5 (adaptive) | jump (see sampling.h)
  int64_t steps = 20;          // fixed-grid steps
  double atol = 1e-5, rtol = 1e-5;  // dopri5 tolerances
  bool keep_trajectory = false;

  // Throws Error for an unknown method, steps <= 0 or a non-positive tolerance.
  void validate() const;
};

struct Solution {
  at::Tensor x;                  // the state at t1
  int64_t nfe = 0;               // network (velocity) evaluations
  std::vector<double> times;     // with keep_trajectory: every accepted time, t0 first
  std::vector<at::Tensor> states;  // the states at those times
};

// Integrates dx/dt = v(x, t) from x(t0) = x0 to t1 with the chosen method (any but jump).
Solution solve(const VelocityFn& v, const at::Tensor& x0, double t0, double t1, const SolverOptions& options);

}  // namespace flowmatch
