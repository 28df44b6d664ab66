#pragma once
#include <ATen/core/Generator.h>
#include <ATen/core/Tensor.h>

#include <memory>

#include "flowmatch/model/velocity_model.h"
#include "flowmatch/objective/objective.h"
#include "flowmatch/objective/scheduler.h"
#include "flowmatch/objective/time_sampler.h"

namespace flowmatch {

// MeanFlow (Geng et al. 2025), in flowmatch's time direction (noise at t = 0, data at t = 1).
//
// u(z, s, t) is the average velocity from time s, where z is, to a later time t:
// z_t = z + (t - s) u(z, s, t). Differentiating (t - s) u(z_s, s, t) = integral_s^t v dtau in s along
// the path gives the MeanFlow identity
//   u(z_s, s, t) = v(z_s, s) + (t - s) d/ds u(z_s, s, t),   d/ds u = (du/dz) v + du/ds,
// which is the paper's u = v - (t - r) du/dt with time reversed. Training regresses u_theta(z_s, s, t)
// on the right-hand side, with v the conditional velocity of the path (x1 - x0 for condot) and the
// target's gradient stopped. Where s = t it is plain flow matching. One evaluation then jumps
// from noise to data: x1 = x0 + u(x0, 0, 1).

// Two times from `sampler` per row, ordered; then s = t on a share 1 - interval_fraction of the rows.
TrainingTimes draw_interval_times(const TimeSampler& sampler, double interval_fraction, int64_t n, at::Generator& gen);

// The loss on one batch: mean over rows and dimensions of (u_theta - sg(target))^2. The derivative
// d/ds u is a Jacobian-vector product with the tangent (v, 1), computed by a double backward pass;
// a context is held fixed along the path (its tangent is 0), so it enters u but not the product.
at::Tensor meanflow_loss(VelocityModel& model, const Scheduler& scheduler, const at::Tensor& x0, const at::Tensor& x1,
                         const TrainingTimes& times, const Condition& given = {});

// MeanFlow as a training objective: interval times, the loss above, models with an interval input
// (no class labels; contexts as for flows), sampled with one jump (jump_sampler.h).
class MeanFlow : public Objective {
 public:
  MeanFlow(std::unique_ptr<Scheduler> scheduler, TimeSampler time_sampler, double interval_fraction);
  TrainingTimes draw_times(const PairBatch& pairs, at::Generator& gen) const override;
  at::Tensor loss(VelocityModel& model, const PairBatch& pairs, const Condition& condition,
                  const TrainingTimes& times) const override;
  bool needs_interval() const override { return true; }
  std::optional<SolverOptions> sampler() const override;

 private:
  std::unique_ptr<Scheduler> scheduler_;
  TimeSampler time_sampler_;
  double interval_fraction_;
};

}  // namespace flowmatch
