#pragma once
#include "flowmatch/ode/solution.h"

namespace flowmatch {

// Dormand-Prince 5(4) with adaptive steps: a step is accepted when the RMS over all elements of
// err_i / (atol + rtol * max(|x_i|, |x_new_i|)) is <= 1, and the next step is scaled by
// 0.9 * err^(-1/5), within [0.2, 10]. First-same-as-last: 6 evaluations per accepted step.
Solution solve_dopri5(const VelocityFn& v, const at::Tensor& x0, double t0, double t1, double atol, double rtol,
                      bool keep_trajectory);

}  // namespace flowmatch
