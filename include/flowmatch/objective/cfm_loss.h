#pragma once
#include <ATen/core/Tensor.h>

#include <functional>

#include "flowmatch/objective/scheduler.h"

namespace flowmatch {

using VelocityModelFn = std::function<at::Tensor(const at::Tensor& x, const at::Tensor& t)>;

// The conditional flow-matching loss on one batch:
//   x_t = alpha_t x1 + sigma_t x0,  u_t = d_alpha_t x1 + d_sigma_t x0,
//   L = mean over batch and dimensions of (v(x_t, t) - u_t)^2.
// x0, x1: [B, ...]; t: [B].
at::Tensor cfm_loss(const VelocityModelFn& model, const Scheduler& scheduler, const at::Tensor& x0,
                    const at::Tensor& x1, const at::Tensor& t);

}  // namespace flowmatch
