#pragma once
#include <ATen/core/Tensor.h>

#include "flowmatch/model/velocity_model.h"
#include "flowmatch/ode/solution.h"

namespace flowmatch {

// The sampler of models of average velocities u(x, s, t) (MeanFlow, objective/meanflow.h), which
// solves no ODE: `steps` equal jumps from t = 0 to 1,
//   x_t = x_s + (t - s) u(x_s, s, t),
// one network evaluation each. Chosen by name like the ODE solvers (sampling.h).
inline constexpr const char* kJumpSampler = "jump";

// Throws Error unless steps > 0.
void validate_jump_steps(int64_t steps);

// Jumps x0 [N, ...] at t = 0 to t = 1, given a context per row for a context model; throws Error for
// a model without an interval input.
Solution jump_sample(VelocityModel& model, const at::Tensor& x0, int64_t steps, bool keep_trajectory,
                     const Condition& given = {});

}  // namespace flowmatch
