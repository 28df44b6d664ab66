#include "flowmatch/ode/likelihood.h"

#include <torch/torch.h>

#include <cmath>

#include "flowmatch/core/error.h"
#include "flowmatch/ode/divergence.h"
#include "flowmatch/ode/jump_sampler.h"
#include "flowmatch/ode/sampling.h"

namespace flowmatch {

void LikelihoodOptions::validate() const {
  if (solver.method == kJumpSampler)
    throw Error("the jump sampler takes average velocities, which only a model with an interval input gives; it "
                "applies to sampling, not to ODE solves such as likelihoods");
  solver.validate();
  if (solver.noise_scale > 0)
    throw Error("log-densities follow the ODE (the change of variables needs a deterministic map): --noise-scale must be 0");
  if (divergence != "exact" && divergence != "hutchinson")
    throw Error("unknown divergence '" + divergence + "' (choose exact or hutchinson)");
  if (probe != "rademacher" && probe != "gaussian") throw Error("unknown probe '" + probe + "' (choose rademacher or gaussian)");
  if (probes < 1) throw Error("--probes must be at least 1, got " + std::to_string(probes));
}

namespace {
// Integrates [x, l] with dx/dt = v(x, t), dl/dt = div v(x, t) from (start, 0) at t0 to t1.
Solution solve_with_divergence(VelocityModel& model, const at::Tensor& start, double t0, double t1,
                               const LikelihoodOptions& options, at::Generator& gen, const Guidance& given) {
  options.validate();
  validate_guidance(model, given, start.size(0));
  const int64_t n = start.size(0), d = start.size(1);
  const bool differentiable = at::GradMode::is_enabled();
  at::Tensor probes;
  if (options.divergence == "hutchinson") probes = draw_probes(options.probe, options.probes, n, d, gen, start.options());
  model.eval();
  VelocityFn velocity = velocity_of(model, given);
  VelocityFn augmented = [&](const at::Tensor& state, double t) {
    at::AutoGradMode grad_on(true);  // the divergence needs dv/dx even under NoGradGuard
    at::Tensor x = state.narrow(1, 0, d);
    if (!differentiable || !x.requires_grad()) x = x.detach().requires_grad_(true);
    at::Tensor v = velocity(x, t);
    at::Tensor div = probes.defined() ? hutchinson_divergence(v, x, probes, differentiable)
                                      : exact_divergence(v, x, differentiable);
    at::Tensor rhs = torch::cat({v, div.unsqueeze(1)}, 1);
    return differentiable ? rhs : rhs.detach();
  };
  return solve(augmented, torch::cat({start, torch::zeros({n, 1}, start.options())}, 1), t0, t1, options.solver);
}

// The points of an augmented solution [x, l], at the end and along the way.
Solution points_of(const Solution& s, int64_t d) {
  Solution out = s;
  out.x = s.x.narrow(1, 0, d);
  for (auto& state : out.states) state = state.narrow(1, 0, d);
  return out;
}
}  // namespace

DensitySolution log_likelihood(VelocityModel& model, const at::Tensor& x, const LikelihoodOptions& options,
                               at::Generator& gen, const Guidance& given) {
  at::Tensor data = as_model_input(model, x, "data");
  Solution s = solve_with_divergence(model, data, 1.0, 0.0, options, gen, given);
  Solution path = points_of(s, data.size(1));
  // Integrating back from l(1) = 0 leaves l(0) = -integral_0^1 div v dt.
  at::Tensor log_density = standard_normal_log_density(path.x) + s.x.select(1, data.size(1));
  return {path, log_density};
}

DensitySolution sample_with_log_density(VelocityModel& model, const at::Tensor& noise, const LikelihoodOptions& options,
                                        at::Generator& gen, const Guidance& given) {
  at::Tensor z = as_model_input(model, noise, "noise");
  Solution s = solve_with_divergence(model, z, 0.0, 1.0, options, gen, given);
  // Forward from l(0) = 0: l(1) = integral_0^1 div v dt.
  at::Tensor log_density = standard_normal_log_density(z) - s.x.select(1, z.size(1));
  return {points_of(s, z.size(1)), log_density};
}

at::Tensor standard_normal_log_density(const at::Tensor& z) {
  return -0.5 * z.pow(2).sum(1) - 0.5 * double(z.size(1)) * std::log(2 * M_PI);
}

NllSummary summarize_nll(const at::Tensor& log_density, int64_t dim) {
  NllAccumulator all;
  all.add(log_density);
  return all.summary(dim);
}

void NllAccumulator::add(const at::Tensor& log_density) {
  at::Tensor lp = log_density.detach().to(torch::kDouble);
  const int64_t m = lp.numel();
  if (m == 0) return;
  const double batch_mean = lp.mean().item<double>(), batch_squares = (lp - batch_mean).square().sum().item<double>();
  // Chan et al.'s merge: M2 = M2_a + M2_b + delta^2 n_a n_b / (n_a + n_b), delta = mean_b - mean_a.
  const double delta = batch_mean - mean_, n = double(n_ + m);
  squares_ += batch_squares + delta * delta * double(n_) * double(m) / n;
  mean_ += delta * double(m) / n;
  n_ += m;
}

NllSummary NllAccumulator::summary(int64_t dim) const {
  if (n_ == 0) throw Error("no log-densities to summarise");
  NllSummary s;
  s.nats = -mean_;
  s.nats_se = n_ > 1 ? std::sqrt(squares_ / double(n_ - 1)) / std::sqrt(double(n_)) : 0.0;  // std / sqrt(N)
  const double per_bit = double(dim) * std::log(2.0);  // nats per bit, over D dimensions
  s.bits_per_dim = s.nats / per_bit;
  s.bits_per_dim_se = s.nats_se / per_bit;
  return s;
}

std::string LikelihoodOptions::describe_divergence() const {
  if (divergence != "hutchinson") return divergence + " divergence";
  return "hutchinson, " + std::to_string(probes) + " " + probe + " probe" + (probes > 1 ? "s" : "");
}

}  // namespace flowmatch
