#include "flowmatch/straightness.h"

#include <torch/torch.h>

namespace flowmatch {

double path_straightness(const VelocityFn& v, const at::Tensor& x0, int64_t steps) {
  std::vector<at::Tensor> velocities;  // Euler evaluates v exactly at the trajectory's states
  VelocityFn recording = [&](const at::Tensor& x, double t) {
    velocities.push_back(v(x, t));
    return velocities.back();
  };
  SolverOptions euler;
  euler.steps = steps;
  at::Tensor displacement = solve(recording, x0, 0.0, 1.0, euler).x - x0;
  double total = 0;
  for (const auto& velocity : velocities) total += (displacement - velocity).pow(2).sum(1).mean().item<double>();
  return total / double(velocities.size());
}

}  // namespace flowmatch
