#include "flowmatch/ode/sampling.h"

#include <torch/torch.h>

#include <algorithm>

#include "flowmatch/core/error.h"
#include "flowmatch/ode/jump_sampler.h"

namespace flowmatch {

VelocityFn velocity_of(VelocityModel& model, const Guidance& guidance) {
  if (!guidance.labels.defined())
    return [&model](const at::Tensor& x, double t) { return model.forward(x, torch::full({x.size(0)}, t, x.options())); };
  at::Tensor labels = guidance.labels;
  double w = guidance.weight;
  if (w == 1.0)
    return [&model, labels](const at::Tensor& x, double t) {
      return model.forward_class(x, torch::full({x.size(0)}, t, x.options()), labels);
    };
  // One batch of 2N rows: the labels, then N times "no class".
  at::Tensor both_labels = torch::cat({labels, torch::full_like(labels, model.classes())});
  return [&model, both_labels, w](const at::Tensor& x, double t) {
    at::Tensor v = model.forward_class(torch::cat({x, x}), torch::full({2 * x.size(0)}, t, x.options()), both_labels);
    at::Tensor conditional = v.slice(0, 0, x.size(0)), unconditional = v.slice(0, x.size(0));
    return unconditional + w * (conditional - unconditional);
  };
}

at::Tensor as_model_input(VelocityModel& model, const at::Tensor& x, const std::string& what) {
  std::vector<int64_t> shape = model.sample_shape();
  if (x.dim() != int64_t(shape.size()) + 1 || x.sizes().slice(1) != c10::IntArrayRef(shape))
    throw Error("the model takes samples of shape " + describe_shape(shape) + " but the " + what + " has shape " +
                c10::str(x.sizes()));
  auto parameters = model.parameters();
  return parameters.empty() ? x : x.to(parameters.front().scalar_type());
}

std::vector<std::string> sampler_names() {
  std::vector<std::string> names = solver_names();
  names.push_back(kJumpSampler);
  return names;
}

void validate_sampler(const SolverOptions& options) {
  if (options.method == kJumpSampler) return validate_jump_steps(options.steps);
  std::vector<std::string> solvers = solver_names();
  if (std::find(solvers.begin(), solvers.end(), options.method) == solvers.end()) {
    std::string listed;
    for (const auto& name : solvers) listed += name + ", ";
    throw Error("unknown solver '" + options.method + "' (choose " + listed + "or " + kJumpSampler + " for MeanFlow models)");
  }
  options.validate();
}

Solution generate(VelocityModel& model, const at::Tensor& noise, const SolverOptions& options, const Guidance& guidance) {
  validate_sampler(options);
  at::Tensor x0 = as_model_input(model, noise, "noise");
  if (guidance.labels.defined()) {
    if (model.classes() == 0) throw Error("--class and --cfg need a class-conditional model (a unet trained on labelled images)");
    if (guidance.labels.dim() != 1 || guidance.labels.size(0) != x0.size(0))
      throw Error("guidance needs one label per sample, got " + c10::str(guidance.labels.sizes()));
    if (guidance.labels.min().item<int64_t>() < 0 || guidance.labels.max().item<int64_t>() >= model.classes())
      throw Error("class labels must lie in 0 .. " + std::to_string(model.classes() - 1));
    if (options.method == kJumpSampler) throw Error("the jump sampler takes no class labels");
  }
  c10::InferenceMode inference;
  model.eval();
  if (options.method == kJumpSampler) return jump_sample(model, x0, options.steps, options.keep_trajectory);
  return solve(velocity_of(model, guidance), x0, 0.0, 1.0, options);
}

}  // namespace flowmatch
