#include "flowmatch/ode/solver.h"

#include "flowmatch/core/error.h"
#include "flowmatch/ode/dopri5.h"
#include "flowmatch/ode/runge_kutta.h"

namespace flowmatch {

void SolverOptions::validate() const {
  if (method != "dopri5" && method != "jump" && !fixed_grid_tableau(method))
    throw Error("unknown solver '" + method + "' (choose euler, midpoint, heun, rk4, dopri5, or jump for MeanFlow models)");
  if (method != "dopri5" && steps <= 0) throw Error("--steps must be positive, got " + std::to_string(steps));
  if (method == "dopri5" && !(atol > 0 && rtol > 0)) throw Error("--atol and --rtol must be positive");
}

Solution solve(const VelocityFn& v, const at::Tensor& x0, double t0, double t1, const SolverOptions& options) {
  options.validate();
  if (options.method == "jump")
    throw Error("the jump sampler takes average velocities, which only a model with an interval input gives; it "
                "applies to sampling, not to ODE solves such as likelihoods");
  if (options.method == "dopri5") return solve_dopri5(v, x0, t0, t1, options.atol, options.rtol, options.keep_trajectory);
  return solve_fixed_grid(*fixed_grid_tableau(options.method), v, x0, t0, t1, options.steps, options.keep_trajectory);
}

}  // namespace flowmatch
