#pragma once
#include <ATen/core/Tensor.h>

#include <string>

#include "flowmatch/ode/solution.h"

namespace flowmatch {

struct SolverOptions {
  std::string method = "rk4";  // euler | midpoint | heun | rk4 (fixed grid) | dopri5 (adaptive) | jump (see sampling.h)
  int64_t steps = 20;          // fixed-grid steps
  double atol = 1e-5, rtol = 1e-5;  // dopri5 tolerances
  bool keep_trajectory = false;

  // Throws Error for an unknown method, steps <= 0 or a non-positive tolerance.
  void validate() const;
};

// Integrates dx/dt = v(x, t) from x(t0) = x0 to t1 with the chosen method (any but jump).
Solution solve(const VelocityFn& v, const at::Tensor& x0, double t0, double t1, const SolverOptions& options);

}  // namespace flowmatch
