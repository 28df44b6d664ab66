#pragma once
#include <ATen/core/Tensor.h>

#include "flowmatch/objective/scheduler.h"

namespace flowmatch {

// A point of the affine path between x0 (t = 0) and x1 (t = 1) and the path's velocity there:
//   x_t = alpha_t x1 + sigma_t x0,   u_t = d_alpha_t x1 + d_sigma_t x0
// (CondOT: x_t = (1 - t) x0 + t x1, u_t = x1 - x0).
struct PathPoint {
  at::Tensor x_t, u_t;
};

// The path of every row of x0, x1 [B, ...] at its own time t [B].
PathPoint affine_path(const Scheduler& scheduler, const at::Tensor& x0, const at::Tensor& x1, const at::Tensor& t);

}  // namespace flowmatch
