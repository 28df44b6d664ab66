#include "flowmatch/objective/meanflow.h"

#include <torch/torch.h>

#include "flowmatch/core/error.h"
#include "flowmatch/objective/affine_path.h"
#include "flowmatch/ode/jump_sampler.h"

namespace flowmatch {

TrainingTimes draw_interval_times(const TimeSampler& sampler, double interval_fraction, int64_t n, at::Generator& gen) {
  at::Tensor a = sampler(n, gen), b = sampler(n, gen);
  at::Tensor s = torch::minimum(a, b), t = torch::maximum(a, b);
  at::Tensor same = torch::rand({n}, gen) >= interval_fraction;
  return {torch::where(same, t, s), t, at::Tensor()};  // no reveal times
}

at::Tensor meanflow_loss(VelocityModel& model, const Scheduler& scheduler, const at::Tensor& x0, const at::Tensor& x1,
                         const TrainingTimes& times, const Condition& given) {
  torch::AutoGradMode with_gradients(true);  // the product below differentiates u, also for a held-out loss
  std::vector<int64_t> broadcast(x1.dim(), 1);
  broadcast[0] = x1.size(0);
  PathPoint path = affine_path(scheduler, x0, x1, times.s);
  at::Tensor z = path.x_t.detach().requires_grad_(true);
  at::Tensor v = path.u_t;
  at::Tensor s = times.s.detach().requires_grad_(true);
  at::Tensor u = model.forward_average(z, s, times.t, given);
  // J = d u / d(z, s). g(a) = J^T a is linear in a, so d/da <g(a), (v, 1)> = J (v, 1) = d/ds u.
  at::Tensor a = torch::zeros_like(u).requires_grad_(true);
  auto vjp = torch::autograd::grad({u}, {z, s}, {a}, /*retain_graph=*/true, /*create_graph=*/true);
  at::Tensor du_ds = torch::autograd::grad(vjp, {a}, {v, torch::ones_like(s)}, /*retain_graph=*/true)[0];
  at::Tensor target = (v + (times.t - times.s).view(broadcast) * du_ds).detach();
  return torch::mse_loss(u, target);
}

MeanFlow::MeanFlow(std::unique_ptr<Scheduler> scheduler, TimeSampler time_sampler, double interval_fraction)
    : scheduler_(std::move(scheduler)), time_sampler_(std::move(time_sampler)), interval_fraction_(interval_fraction) {}

TrainingTimes MeanFlow::draw_times(const PairBatch& pairs, at::Generator& gen) const {
  return draw_interval_times(time_sampler_, interval_fraction_, pairs.x1.size(0), gen);
}

at::Tensor MeanFlow::loss(VelocityModel& model, const PairBatch& pairs, const Condition& condition,
                          const TrainingTimes& times) const {
  return meanflow_loss(model, *scheduler_, pairs.x0, pairs.x1, times, condition);
}

std::optional<SolverOptions> MeanFlow::sampler() const { return SolverOptions{kJumpSampler, 1}; }

}  // namespace flowmatch
