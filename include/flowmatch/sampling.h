#pragma once
#include <ATen/core/Tensor.h>

#include <string>

#include "flowmatch/solver.h"
#include "flowmatch/velocity_model.h"

namespace flowmatch {

// The model as the solver's right-hand side: v(x, t) with t broadcast to the batch.
VelocityFn velocity_of(VelocityModel& model);

// Checks that x is [N, D] for the model's D (naming it `what` in the error) and returns it in the
// model's dtype (float32, or float64 for a model converted with ->to(torch::kDouble)).
at::Tensor as_model_input(VelocityModel& model, const at::Tensor& x, const std::string& what);

// Integrates noise [N, D] from t = 0 to t = 1 under inference mode (no autograd bookkeeping).
// Method "jump", for models with an interval input (MeanFlow), takes `steps` equal jumps along the
// average velocity, x <- x + h u(x, t, t + h), one evaluation each; other methods solve the ODE of
// v(x, t) = u(x, t, t).
Solution generate(VelocityModel& model, const at::Tensor& noise, const SolverOptions& options);

}  // namespace flowmatch
