#pragma once
#include <ATen/core/Tensor.h>

#include <string>

#include "flowmatch/model/velocity_model.h"
#include "flowmatch/ode/solver.h"

namespace flowmatch {

// Which class to draw, and how strongly: classifier-free guidance (Ho & Salimans) with weight w,
//   v = v(x, t) + w (v(x, t | y) - v(x, t)),
// so w = 1 is the plain conditional field and w = 0 the unconditional one.
struct Guidance {
  at::Tensor labels;  // [N] int64 classes; undefined: unconditional
  double weight = 1.0;
};

// The model as the solver's right-hand side: v(x, t) with t broadcast to the batch, guided towards
// guidance.labels when they are given (both fields from one batched evaluation when w != 1).
VelocityFn velocity_of(VelocityModel& model, const Guidance& guidance = {});

// Checks that x is [N, ...sample_shape] for the model (naming it `what` in the error) and returns it
// in the model's dtype (float32, or float64 for a model converted with ->to(torch::kDouble)).
at::Tensor as_model_input(VelocityModel& model, const at::Tensor& x, const std::string& what);

// Integrates noise [N, ...] from t = 0 to t = 1 under inference mode (no autograd bookkeeping).
// Method "jump", for models with an interval input (MeanFlow), takes `steps` equal jumps along the
// average velocity, x <- x + h u(x, t, t + h), one evaluation each; other methods solve the ODE of
// v(x, t) = u(x, t, t).
// Throws Error for labels outside 0 .. classes() - 1, or given to a model that is not conditional.
Solution generate(VelocityModel& model, const at::Tensor& noise, const SolverOptions& options, const Guidance& guidance = {});

}  // namespace flowmatch
