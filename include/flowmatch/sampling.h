#pragma once
#include <ATen/core/Tensor.h>

#include "flowmatch/solver.h"
#include "flowmatch/velocity_model.h"

namespace flowmatch {

// The model as the solver's right-hand side: v(x, t) with t broadcast to the batch.
VelocityFn velocity_of(VelocityModel& model);

// Integrates noise [N, D] from t = 0 to t = 1 under inference mode (no autograd bookkeeping).
Solution generate(VelocityModel& model, const at::Tensor& noise, const SolverOptions& options);

}  // namespace flowmatch
