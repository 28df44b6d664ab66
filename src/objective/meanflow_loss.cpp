#include "flowmatch/objective/meanflow_loss.h"

#include <torch/torch.h>

namespace flowmatch {

IntervalTimes draw_interval_times(const TimeSampler& sampler, double interval_fraction, int64_t n, at::Generator& gen) {
  at::Tensor a = sampler(n, gen), b = sampler(n, gen);
  at::Tensor s = torch::minimum(a, b), t = torch::maximum(a, b);
  at::Tensor same = torch::rand({n}, gen) >= interval_fraction;
  return {torch::where(same, t, s), t};
}

at::Tensor meanflow_loss(VelocityModel& model, const Scheduler& scheduler, const at::Tensor& x0, const at::Tensor& x1,
                         const IntervalTimes& times) {
  std::vector<int64_t> broadcast(x1.dim(), 1);
  broadcast[0] = x1.size(0);
  SchedulerValues path = scheduler(times.s.view(broadcast));
  at::Tensor z = (path.alpha * x1 + path.sigma * x0).detach().requires_grad_(true);
  at::Tensor v = path.d_alpha * x1 + path.d_sigma * x0;
  at::Tensor s = times.s.detach().requires_grad_(true);
  at::Tensor u = model.forward_average(z, s, times.t);
  // J = d u / d(z, s). g(a) = J^T a is linear in a, so d/da <g(a), (v, 1)> = J (v, 1) = d/ds u.
  at::Tensor a = torch::zeros_like(u).requires_grad_(true);
  auto vjp = torch::autograd::grad({u}, {z, s}, {a}, /*retain_graph=*/true, /*create_graph=*/true);
  at::Tensor du_ds = torch::autograd::grad(vjp, {a}, {v, torch::ones_like(s)}, /*retain_graph=*/true)[0];
  at::Tensor target = (v + (times.t - times.s).view(broadcast) * du_ds).detach();
  return torch::mse_loss(u, target);
}

}  // namespace flowmatch
