#include "flowmatch/sampling.h"

#include <torch/torch.h>

#include "flowmatch/error.h"

namespace flowmatch {

VelocityFn velocity_of(VelocityModel& model) {
  return [&model](const at::Tensor& x, double t) { return model.forward(x, torch::full({x.size(0)}, t, x.options())); };
}

at::Tensor as_model_input(VelocityModel& model, const at::Tensor& x, const std::string& what) {
  if (x.dim() != 2 || x.size(1) != model.data_dim())
    throw Error("the model is " + std::to_string(model.data_dim()) + "-D but the " + what + " has shape " +
                c10::str(x.sizes()));
  auto parameters = model.parameters();
  return parameters.empty() ? x : x.to(parameters.front().scalar_type());
}

namespace {
Solution jump(VelocityModel& model, const at::Tensor& x0, const SolverOptions& options) {
  if (!model.takes_interval())
    throw Error("the jump sampler needs a model trained with --objective meanflow; choose an ODE solver for this one");
  Solution solution;
  solution.x = x0;
  auto record = [&](double t) {
    if (!options.keep_trajectory) return;
    solution.times.push_back(t);
    solution.states.push_back(solution.x);
  };
  record(0.0);
  for (int64_t k = 0; k < options.steps; ++k) {
    double s = double(k) / double(options.steps), t = double(k + 1) / double(options.steps);
    at::Tensor start = torch::full({x0.size(0)}, s, x0.options()), end = torch::full({x0.size(0)}, t, x0.options());
    solution.x = solution.x + (t - s) * model.forward_average(solution.x, start, end);  // x_t = x_s + (t - s) u(x_s, s, t)
    ++solution.nfe;
    record(t);
  }
  return solution;
}
}  // namespace

Solution generate(VelocityModel& model, const at::Tensor& noise, const SolverOptions& options) {
  options.validate();
  at::Tensor x0 = as_model_input(model, noise, "noise");
  c10::InferenceMode inference;
  model.eval();
  if (options.method == "jump") return jump(model, x0, options);
  return solve(velocity_of(model), x0, 0.0, 1.0, options);
}

}  // namespace flowmatch
