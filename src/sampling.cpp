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

Solution generate(VelocityModel& model, const at::Tensor& noise, const SolverOptions& options) {
  at::Tensor x0 = as_model_input(model, noise, "noise");
  c10::InferenceMode inference;
  model.eval();
  return solve(velocity_of(model), x0, 0.0, 1.0, options);
}

}  // namespace flowmatch
