#include "flowmatch/ode/solver.h"

#include "flowmatch/core/error.h"
#include "flowmatch/core/registry.h"
#include "flowmatch/ode/dopri5.h"
#include "flowmatch/ode/runge_kutta.h"

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
  return method + (method == "dopri5" ? "" : ", " + std::to_string(steps) + " step" + (steps == 1 ? "" : "s"));
}

void SolverOptions::validate() const {
  if (method != kAdaptive && !fixed_grid_tableau(method))
    throw Error("unknown solver '" + method + "' (choose " + join_names(solver_names()) + ")");
  if (method != kAdaptive && steps <= 0) throw Error("--steps must be positive, got " + std::to_string(steps));
  if (method == kAdaptive && !(atol > 0 && rtol > 0)) throw Error("--atol and --rtol must be positive");
}

Solution solve(const VelocityFn& v, const at::Tensor& x0, double t0, double t1, const SolverOptions& options) {
  options.validate();
  if (options.method == kAdaptive) return solve_dopri5(v, x0, t0, t1, options.atol, options.rtol, options.keep_trajectory);
  return solve_fixed_grid(*fixed_grid_tableau(options.method), v, x0, t0, t1, options.steps, options.keep_trajectory);
}

}  // namespace flowmatch
