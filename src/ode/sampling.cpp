#include "flowmatch/ode/sampling.h"

#include <torch/torch.h>

#include <algorithm>

#include "flowmatch/core/error.h"
#include "flowmatch/ode/jump_sampler.h"
#include "flowmatch/ode/stochastic_sampler.h"

namespace flowmatch {

namespace {
// The condition twice over, for one batch of 2N rows: first as given, then "no class" / "no context".
Condition conditioned_then_unconditional(const VelocityModel& model, const Condition& c) {
  if (c.labels.defined()) return {torch::cat({c.labels, torch::full_like(c.labels, model.classes())}), {}, {}};
  int64_t n = c.context.size(0);
  at::Tensor dropped = torch::cat({torch::zeros({n}, torch::kBool), torch::ones({n}, torch::kBool)});
  return {{}, torch::cat({c.context, c.context}), dropped};
}
}  // namespace

Guidance Guidance::rows(int64_t first, int64_t end) const {
  return {labels.defined() ? labels.slice(0, first, end) : labels, weight, context.defined() ? context.slice(0, first, end) : context};
}

VelocityFn velocity_of(VelocityModel& model, const Guidance& guidance) {
  auto times = [](const at::Tensor& x, double t) { return torch::full({x.size(0)}, t, x.options()); };
  Condition condition{guidance.labels, guidance.context, {}};
  if (!condition.labels.defined() && !condition.context.defined())
    return [&model, times](const at::Tensor& x, double t) { return model.forward(x, times(x, t)); };
  double w = guidance.weight;
  if (w == 1.0)
    return [&model, times, condition](const at::Tensor& x, double t) { return model.forward_given(x, times(x, t), condition); };
  Condition both = conditioned_then_unconditional(model, condition);
  return [&model, times, both, w](const at::Tensor& x, double t) {
    at::Tensor twice = torch::cat({x, x});
    at::Tensor v = model.forward_given(twice, times(twice, t), both);
    at::Tensor conditional = v.slice(0, 0, x.size(0)), unconditional = v.slice(0, x.size(0));
    return unconditional + w * (conditional - unconditional);  // v + w (v(. | y) - v)
  };
}

void validate_guidance(const VelocityModel& model, const Guidance& guidance, int64_t rows) {
  if (guidance.labels.defined()) {
    if (model.classes() == 0) throw Error("--class and --cfg need a class-conditional model (a unet trained on labelled images)");
    if (guidance.labels.dim() != 1 || guidance.labels.size(0) != rows)
      throw Error("guidance needs one label per sample, got " + c10::str(guidance.labels.sizes()));
    if (guidance.labels.min().item<int64_t>() < 0 || guidance.labels.max().item<int64_t>() >= model.classes())
      throw Error("class labels must lie in 0 .. " + std::to_string(model.classes() - 1));
  }
  if (guidance.context.defined()) {
    if (model.context_dim() == 0) throw Error("a context needs a model trained with one (train --context); this model takes none");
    if (guidance.context.dim() != 2 || guidance.context.size(0) != rows || guidance.context.size(1) != model.context_dim())
      throw Error("the model takes a " + std::to_string(model.context_dim()) + "-D context per sample, got shape " +
                  c10::str(guidance.context.sizes()) + " for " + std::to_string(rows) + " samples");
    if (!torch::isfinite(guidance.context).all().item<bool>()) throw Error("the context holds NaN or infinite values");
  } else if (model.context_dim() > 0 && guidance.weight != 1.0) {
    throw Error("guidance (--cfg) needs a context to guide towards");
  }
}

at::Tensor as_model_input(VelocityModel& model, const at::Tensor& x, const std::string& what) {
  std::vector<int64_t> shape = model.sample_shape();
  if (x.dim() != int64_t(shape.size()) + 1 || x.sizes().slice(1) != c10::IntArrayRef(shape))
    throw Error("the model takes samples of shape " + describe_shape(shape) + " but the " + what + " has shape " +
                c10::str(x.sizes()));
  auto parameters = model.parameters();
  return parameters.empty() ? x : x.to(parameters.front().scalar_type());
}

double sampling_memory_bytes(const VelocityModel& model, int64_t rows) {
  return 4.0 * double(rows) * (10 * double(model.data_dim()) + model.floats_per_row());
}

std::vector<std::string> sampler_names() {
  std::vector<std::string> names = solver_names();
  names.push_back(kJumpSampler);
  return names;
}

void validate_sampler(const SolverOptions& options) {
  if (options.method == kJumpSampler) {
    if (options.time_grid != "uniform" || options.noise_scale > 0)
      throw Error("the jump sampler takes no --time-grid or --noise-scale: its jumps are what the model was trained for");
    return validate_jump_steps(options.steps);
  }
  std::vector<std::string> solvers = solver_names();
  if (std::find(solvers.begin(), solvers.end(), options.method) == solvers.end()) {
    std::string listed;
    for (const auto& name : solvers) listed += name + ", ";
    throw Error("unknown solver '" + options.method + "' (choose " + listed + "or " + kJumpSampler + " for MeanFlow models)");
  }
  options.validate();
}

at::Tensor start_on_path(const PathAt& path, const at::Tensor& x, const at::Tensor& noise, double t0) {
  if (x.sizes() != noise.sizes())
    throw Error("the points to edit have shape " + c10::str(x.sizes()) + " but their noise " + c10::str(noise.sizes()));
  const PathCoefficients at_t0 = path(t0);
  return at_t0.alpha * x + at_t0.sigma * noise;  // x_t0 = alpha x + sigma z
}

Solution generate(VelocityModel& model, const at::Tensor& start, const SolverOptions& options, const Guidance& guidance,
                  const PathNoise& noise, double t0) {
  validate_sampler(options);
  if (options.noise_scale > 0 && !(noise.path && noise.gen))
    throw Error("stochastic sampling (--noise-scale) needs the model's path and a generator");
  if (!(t0 >= 0 && t0 <= 1)) throw Error("sampling starts at a time in [0, 1], got " + std::to_string(t0));
  if (options.method == kJumpSampler && t0 != 0) throw Error("the jump sampler starts from noise (t = 0) only");
  at::Tensor x0 = as_model_input(model, start, t0 == 0 ? "noise" : "start");
  validate_guidance(model, guidance, x0.size(0));
  if (options.method == kJumpSampler && (guidance.labels.defined() || (guidance.context.defined() && guidance.weight != 1.0)))
    throw Error("the jump sampler takes no class labels, and a context only without guidance (--cfg 1)");
  if (t0 == 1) {  // already at the data: nothing to integrate
    Solution at_data;
    at_data.x = x0;
    if (options.keep_trajectory) at_data.times = {1.0}, at_data.states = {x0};
    return at_data;
  }
  c10::InferenceMode inference;
  model.eval();
  if (options.method == kJumpSampler)
    return jump_sample(model, x0, options.steps, options.keep_trajectory, Condition{{}, guidance.context, {}});
  StepStart renoise = options.noise_scale > 0 ? renoising_step_start(noise.path, options.noise_scale, *noise.gen) : StepStart{};
  return solve(velocity_of(model, guidance), x0, t0, 1.0, options, renoise);
}

void validate_inversion(const SolverOptions& options) {
  if (options.method == kJumpSampler) throw Error("inversion integrates the ODE back; the jump sampler has no inverse: pick an ODE solver");
  options.validate();
  if (options.noise_scale > 0) throw Error("inversion follows the ODE back (the SDE has no inverse): --noise-scale must be 0");
}

Solution invert(VelocityModel& model, const at::Tensor& x, const SolverOptions& options, const Guidance& guidance) {
  validate_inversion(options);
  at::Tensor x1 = as_model_input(model, x, "data");
  validate_guidance(model, guidance, x1.size(0));
  c10::InferenceMode inference;
  model.eval();
  return solve(velocity_of(model, guidance), x1, 1.0, 0.0, options);
}

}  // namespace flowmatch
