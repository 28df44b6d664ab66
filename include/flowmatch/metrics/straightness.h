#pragma once
#include <ATen/core/Tensor.h>

#include "flowmatch/model/velocity_model.h"
#include "flowmatch/ode/sampling.h"
#include "flowmatch/ode/solver.h"

namespace flowmatch {

// How straight a flow's paths are, along its own Euler trajectory from x0 with `steps` steps
// (states x_i at t_i = i / steps, x1 the trajectory's end):
//   straightness S = mean over i and points of |(x1 - x0) - v(x_i, t_i)|^2   (Liu et al., rectified flow)
//   curvature    C = mean over i and points of |x_i + (1 - t_i) v(x_i, t_i) - x1|
// C is how far the one-step extrapolation from a point on the path lands from the sample the path
// ends at. Both are 0 for straight paths travelled at constant speed.
struct PathGeometry {
  double straightness = 0, curvature = 0;
};
PathGeometry path_geometry(const VelocityFn& v, const at::Tensor& x0, int64_t steps);
// The same for a model's own paths from `start` [N, ...] (in inference mode), given one context row
// per start point for a context model.
PathGeometry path_geometry(VelocityModel& model, const at::Tensor& start, int64_t steps = 100, const Guidance& given = {});

}  // namespace flowmatch
