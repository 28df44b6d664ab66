#include "flowmatch/ode/imputation.h"

#include <torch/torch.h>

#include <cmath>

#include "flowmatch/core/error.h"
#include "flowmatch/ode/runge_kutta.h"
#include "flowmatch/ode/stochastic_sampler.h"

namespace flowmatch {

void ImputationOptions::validate() const {
  solver.validate();
  if (!fixed_grid_tableau(solver.method))
    throw Error("imputation steps a fixed grid (euler, midpoint, heun or rk4), correcting at each grid time; not " + solver.method);
  if (corrector_steps < 0) throw Error("--corrector-steps must be >= 0, got " + std::to_string(corrector_steps));
  if (!(corrector_size > 0 && corrector_size <= 1))
    throw Error("--corrector-size must lie in (0, 1], got " + std::to_string(corrector_size));
}

Solution impute(VelocityModel& model, const at::Tensor& data, const at::Tensor& missing, const PathAt& path,
                const ImputationOptions& options, at::Generator& gen, const Guidance& guidance) {
  options.validate();
  const at::Tensor given = as_model_input(model, data, "partial data");
  if (missing.sizes() != given.sizes() || missing.scalar_type() != at::kBool)
    throw Error("the missing-entry mask must be bool of the data's shape " + c10::str(given.sizes()) + ", got " +
                std::string(c10::toString(missing.scalar_type())) + " " + c10::str(missing.sizes()));
  validate_guidance(model, guidance, given.size(0));
  c10::InferenceMode inference;
  model.eval();
  const at::Tensor known_values = given.masked_fill(missing, 0.0);
  const at::Tensor z = torch::randn(given.sizes(), gen, given.options());
  const VelocityFn v = velocity_of(model, guidance);
  int64_t corrector_nfe = 0;
  // Where each step begins: the known entries put on their path, then the missing ones corrected.
  const StepStart renoise = options.solver.noise_scale > 0 ? renoising_step_start(path, options.solver.noise_scale, gen) : StepStart{};
  StepStart replace_and_correct = [&](const at::Tensor& stepped, double t_stepped, double t_next) -> std::pair<at::Tensor, double> {
    const auto [state, t] = renoise ? renoise(stepped, t_stepped, t_next) : std::pair{stepped, t_stepped};
    const PathCoefficients p = path(t);
    at::Tensor x = torch::where(missing, state, p.alpha * known_values + p.sigma * z);  // x_known(t) = alpha x_known + sigma z
    if (p.alpha <= 0) return {x, t};  // t = 0: the conditional of N(0, I) is the noise itself
    const double e = options.corrector_size * p.sigma * p.sigma;
    for (int64_t k = 0; k < options.corrector_steps; ++k) {
      at::Tensor score = -predicted_noise(p, x, v(x, t)) / p.sigma;
      at::Tensor moved = x + e * score + std::sqrt(2 * e) * torch::randn(x.sizes(), gen, x.options());
      x = torch::where(missing, moved, x);
      ++corrector_nfe;
    }
    return {x, t};
  };
  Solution out = solve(v, z, 0.0, 1.0, options.solver, replace_and_correct);
  out.x = torch::where(missing, out.x, given);  // the known entries exactly as given
  out.nfe += corrector_nfe;
  return out;
}

}  // namespace flowmatch
