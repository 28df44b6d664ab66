#include "flowmatch/ode/sampling.h"

#include <torch/torch.h>

#include "flowmatch/core/error.h"

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

Solution generate(VelocityModel& model, const at::Tensor& noise, const SolverOptions& options, const Guidance& guidance) {
  options.validate();
  at::Tensor x0 = as_model_input(model, noise, "noise");
  if (guidance.labels.defined()) {
    if (model.classes() == 0) throw Error("--class and --cfg need a class-conditional model (a unet trained on labelled images)");
    if (guidance.labels.dim() != 1 || guidance.labels.size(0) != x0.size(0))
      throw Error("guidance needs one label per sample, got " + c10::str(guidance.labels.sizes()));
    if (guidance.labels.min().item<int64_t>() < 0 || guidance.labels.max().item<int64_t>() >= model.classes())
      throw Error("class labels must lie in 0 .. " + std::to_string(model.classes() - 1));
    if (options.method == "jump") throw Error("the jump sampler takes no class labels");
  }
  c10::InferenceMode inference;
  model.eval();
  if (options.method == "jump") return jump(model, x0, options);
  return solve(velocity_of(model, guidance), x0, 0.0, 1.0, options);
}

}  // namespace flowmatch
