#include "flowmatch/objective/flow_matching.h"

#include <torch/torch.h>

#include "flowmatch/objective/affine_path.h"

namespace flowmatch {

at::Tensor cfm_loss(const VelocityModelFn& model, const Scheduler& scheduler, const at::Tensor& x0,
                    const at::Tensor& x1, const at::Tensor& t) {
  PathPoint path = affine_path(scheduler, x0, x1, t);
  return torch::mse_loss(model(path.x_t, t), path.u_t);
}

FlowMatching::FlowMatching(std::unique_ptr<Scheduler> scheduler, TimeSampler time_sampler)
    : scheduler_(std::move(scheduler)), time_sampler_(std::move(time_sampler)) {}

TrainingTimes FlowMatching::draw_times(const PairBatch& pairs, at::Generator& gen) const {
  return {at::Tensor(), time_sampler_(pairs.x1.size(0), gen), at::Tensor()};  // no interval, no reveal times
}

at::Tensor FlowMatching::loss(VelocityModel& model, const PairBatch& pairs, const Condition& condition,
                              const TrainingTimes& times) const {
  auto v = [&](const at::Tensor& x, const at::Tensor& t) { return model.forward_given(x, t, condition); };
  return cfm_loss(v, *scheduler_, pairs.x0, pairs.x1, times.t);
}

}  // namespace flowmatch
