#pragma once
#include <ATen/core/Tensor.h>

#include <functional>
#include <string>
#include <vector>

#include "flowmatch/ode/runge_kutta.h"
#include "flowmatch/ode/solution.h"

namespace flowmatch {

// The ODE solvers, by name: the fixed-grid Runge-Kutta methods of runge_kutta.cpp's table (euler,
// midpoint, heun, rk4), then dopri5 (adaptive).
std::vector<std::string> solver_names();

// An ODE solver and its settings. Sampling also accepts the jump of interval models under this
// `method` (sampling.h), which is not an ODE solver and which solve() refuses.
// How far along [t0, t1] a solve is (0 .. 1), and its network evaluations so far.
using SolveProgress = std::function<void(double along, int64_t nfe)>;

struct SolverOptions {
  std::string method = "rk4";
  int64_t steps = 20;               // fixed-grid steps
  double atol = 1e-5, rtol = 1e-5;  // dopri5 tolerances
  std::string time_grid = "uniform";  // where fixed-grid steps fall (time_grid.h)
  // G of stochastic sampling (stochastic_sampler.h), 0 for the ODE; fixed-grid solvers only.
  double noise_scale = 0;
  bool keep_trajectory = false;
  // Called at every network evaluation with how far along [t0, t1] it is (0 .. 1) and the
  // evaluations so far: progress lines that move within a solve and show dopri5's NFE. It may throw
  // to abandon the solve (a stop signal).
  SolveProgress on_progress = nullptr;

  // Throws Error for a method that is not an ODE solver, steps <= 0, a non-positive tolerance, an
  // unknown time grid, a negative noise scale, or a grid or noise given to dopri5.
  void validate() const;
  // "rk4, 32 steps", "midpoint, 4 steps on the shift:3 grid, noise 0.5", or "dopri5" (its steps
  // adapt): for reports and pictures.
  std::string describe() const;
};

// Integrates dx/dt = v(x, t) from x(t0) = x0 to t1 with the chosen solver. `step_start`, which a
// noise scale needs (sampling.h's generate makes it from the model's path), moves each fixed-grid
// step's start (runge_kutta.h).
Solution solve(const VelocityFn& v, const at::Tensor& x0, double t0, double t1, const SolverOptions& options,
               const StepStart& step_start = {});

}  // namespace flowmatch
