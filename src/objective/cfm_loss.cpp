#include "flowmatch/objective/cfm_loss.h"

#include <torch/torch.h>

namespace flowmatch {

at::Tensor cfm_loss(const VelocityModelFn& model, const Scheduler& scheduler, const at::Tensor& x0,
                    const at::Tensor& x1, const at::Tensor& t) {
  std::vector<int64_t> broadcast(x1.dim(), 1);
  broadcast[0] = t.size(0);
  SchedulerValues s = scheduler(t.view(broadcast));
  at::Tensor x_t = s.alpha * x1 + s.sigma * x0;
  at::Tensor target = s.d_alpha * x1 + s.d_sigma * x0;
  return torch::mse_loss(model(x_t, t), target);
}

}  // namespace flowmatch
