#include "flowmatch/ode/solver.h"

#include <algorithm>

#include <cmath>
#include <sstream>

#include "flowmatch/core/error.h"
#include "flowmatch/core/registry.h"
#include "flowmatch/ode/dopri5.h"
#include "flowmatch/ode/runge_kutta.h"
#include "flowmatch/ode/time_grid.h"

namespace flowmatch {

namespace {
const char* const kAdaptive = "dopri5";
}

std::vector<std::string> solver_names() {
  std::vector<std::string> names = fixed_grid_names();
  names.push_back(kAdaptive);
  return names;
}

std::string SolverOptions::describe() const {
  if (method == kAdaptive) return method;
  std::ostringstream out;
  out << method << ", " << steps << " step" << (steps == 1 ? "" : "s");
  if (time_grid != "uniform") out << " on the " << time_grid << " grid";
  if (noise_scale > 0) out << ", noise " << noise_scale;
  return out.str();
}

void SolverOptions::validate() const {
  if (method != kAdaptive && !fixed_grid_tableau(method))
    throw Error("unknown solver '" + method + "' (choose " + join_names(solver_names()) + ")");
  if (method != kAdaptive && steps <= 0) throw Error("--steps must be positive, got " + std::to_string(steps));
  if (method == kAdaptive && !(atol > 0 && rtol > 0)) throw Error("--atol and --rtol must be positive");
  TimeGrid grid(time_grid);  // throws for an unknown grid
  if (!(std::isfinite(noise_scale) && noise_scale >= 0))
    throw Error("--noise-scale must be a finite number >= 0 (0 is the ODE), got " + std::to_string(noise_scale));
  if (method == kAdaptive && !grid.uniform())
    throw Error("--time-grid is for fixed-grid solvers; dopri5 places its own steps");
  if (method == kAdaptive && noise_scale > 0)
    throw Error("--noise-scale is for fixed-grid solvers (euler, midpoint, heun, rk4); dopri5 integrates the ODE");
}

Solution solve(const VelocityFn& v_given, const at::Tensor& x0, double t0, double t1, const SolverOptions& options,
               const StepStart& step_start) {
  options.validate();
  if (options.noise_scale > 0 && !step_start) throw Error("stochastic sampling (--noise-scale) is for drawing samples");
  int64_t evaluations = 0;
  VelocityFn reporting = [&](const at::Tensor& x, double t) {  // v, telling on_progress how far along the solve is
    options.on_progress(std::clamp((t - t0) / (t1 - t0), 0.0, 1.0), ++evaluations);
    return v_given(x, t);
  };
  const VelocityFn& v = options.on_progress ? reporting : v_given;
  if (options.method == kAdaptive) return solve_dopri5(v, x0, t0, t1, options.atol, options.rtol, options.keep_trajectory);
  return solve_fixed_grid(*fixed_grid_tableau(options.method), v, x0, TimeGrid(options.time_grid).times(options.steps, t0, t1),
                          options.keep_trajectory, step_start);
}

}  // namespace flowmatch
