#include "flowmatch/objective/affine_path.h"

#include <vector>

namespace flowmatch {

PathPoint affine_path(const Scheduler& scheduler, const at::Tensor& x0, const at::Tensor& x1, const at::Tensor& t) {
  std::vector<int64_t> broadcast(x1.dim(), 1);  // t as [B, 1, ...]
  broadcast[0] = t.size(0);
  SchedulerValues s = scheduler(t.view(broadcast));
  return {s.alpha * x1 + s.sigma * x0, s.d_alpha * x1 + s.d_sigma * x0};
}

}  // namespace flowmatch
