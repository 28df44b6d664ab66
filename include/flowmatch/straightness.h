#pragma once
#include <ATen/core/Tensor.h>

#include "flowmatch/solver.h"

namespace flowmatch {

// Path straightness (Liu et al., rectified flow): along the model's own Euler trajectory from
// x0 with `steps` steps, S = mean over steps i and points of |(x1 - x0) - v(x_{t_i}, t_i)|^2,
// where x1 is the trajectory's end. S = 0 for perfectly straight paths.
double path_straightness(const VelocityFn& v, const at::Tensor& x0, int64_t steps);

}  // namespace flowmatch
