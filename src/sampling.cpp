#include "flowmatch/sampling.h"

#include <torch/torch.h>

#include "flowmatch/error.h"

namespace flowmatch {

VelocityFn velocity_of(VelocityModel& model) {
  return [&model](const at::Tensor& x, double t) { return model.forward(x, torch::full({x.size(0)}, t, x.options())); };
}

Solution generate(VelocityModel& model, const at::Tensor& noise, const SolverOptions& options) {
  if (noise.dim() != 2 || noise.size(1) != model.data_dim())
    throw Error("the model generates " + std::to_string(model.data_dim()) + "-D points but the noise has shape " +
                c10::str(noise.sizes()));
  c10::InferenceMode inference;
  model.eval();
  return solve(velocity_of(model), noise.to(torch::kFloat), 0.0, 1.0, options);
}

}  // namespace flowmatch
