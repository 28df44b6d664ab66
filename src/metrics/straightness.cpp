#include "flowmatch/metrics/straightness.h"

#include <torch/torch.h>

#include "flowmatch/ode/sampling.h"

namespace flowmatch {

PathGeometry path_geometry(const VelocityFn& v, const at::Tensor& x0, int64_t steps) {
  std::vector<at::Tensor> states, velocities;  // Euler evaluates v exactly at the trajectory's states
  std::vector<double> times;
  VelocityFn recording = [&](const at::Tensor& x, double t) {
    states.push_back(x);
    times.push_back(t);
    velocities.push_back(v(x, t));
    return velocities.back();
  };
  SolverOptions euler;
  euler.method = "euler";
  euler.steps = steps;
  at::Tensor x1 = solve(recording, x0, 0.0, 1.0, euler).x;
  at::Tensor displacement = x1 - x0;
  PathGeometry geometry;
  for (size_t i = 0; i < velocities.size(); ++i) {
    geometry.straightness += (displacement - velocities[i]).pow(2).sum(1).mean().item<double>();
    geometry.curvature += (states[i] + (1 - times[i]) * velocities[i] - x1).pow(2).sum(1).sqrt().mean().item<double>();
  }
  geometry.straightness /= double(velocities.size());
  geometry.curvature /= double(velocities.size());
  return geometry;
}

PathGeometry path_geometry(VelocityModel& model, const at::Tensor& start, int64_t steps, const Guidance& given) {
  c10::InferenceMode inference;
  model.eval();
  validate_guidance(model, given, start.size(0));
  return path_geometry(velocity_of(model, given), as_model_input(model, start, "start points"), steps);
}

}  // namespace flowmatch
