#pragma once
#include <ATen/core/Tensor.h>

#include <functional>
#include <memory>

#include "flowmatch/objective/objective.h"
#include "flowmatch/objective/scheduler.h"
#include "flowmatch/objective/time_sampler.h"

namespace flowmatch {

using VelocityModelFn = std::function<at::Tensor(const at::Tensor& x, const at::Tensor& t)>;

// The conditional flow-matching loss on one batch (affine_path.h):
//   x_t = alpha_t x1 + sigma_t x0,  u_t = d_alpha_t x1 + d_sigma_t x0,
//   L = mean over batch and dimensions of (v(x_t, t) - u_t)^2.
// x0, x1: [B, ...]; t: [B].
at::Tensor cfm_loss(const VelocityModelFn& model, const Scheduler& scheduler, const at::Tensor& x0,
                    const at::Tensor& x1, const at::Tensor& t);

// Flow matching as a training objective: t from the time sampler, the loss above, with the rows'
// class labels or contexts given to a conditional model.
class FlowMatching : public Objective {
 public:
  FlowMatching(std::unique_ptr<Scheduler> scheduler, TimeSampler time_sampler);
  TrainingTimes draw_times(const PairBatch& pairs, at::Generator& gen) const override;
  at::Tensor loss(VelocityModel& model, const PairBatch& pairs, const Condition& condition,
                  const TrainingTimes& times) const override;

 private:
  std::unique_ptr<Scheduler> scheduler_;
  TimeSampler time_sampler_;
};

}  // namespace flowmatch
