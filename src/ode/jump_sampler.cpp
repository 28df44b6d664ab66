#include "flowmatch/ode/jump_sampler.h"

#include <torch/torch.h>

#include "flowmatch/core/error.h"

namespace flowmatch {

void validate_jump_steps(int64_t steps) {
  if (steps <= 0) throw Error("--steps must be positive, got " + std::to_string(steps));
}

Solution jump_sample(VelocityModel& model, const at::Tensor& x0, int64_t steps, bool keep_trajectory,
                     const Condition& given) {
  validate_jump_steps(steps);
  if (!model.takes_interval())
    throw Error("the jump sampler needs a model trained with --objective meanflow; choose an ODE solver for this one");
  Solution solution;
  solution.x = x0;
  auto record = [&](double t) {
    if (!keep_trajectory) return;
    solution.times.push_back(t);
    solution.states.push_back(solution.x);
  };
  record(0.0);
  for (int64_t k = 0; k < steps; ++k) {
    double s = double(k) / double(steps), t = double(k + 1) / double(steps);
    at::Tensor start = torch::full({x0.size(0)}, s, x0.options()), end = torch::full({x0.size(0)}, t, x0.options());
    solution.x = solution.x + (t - s) * model.forward_average(solution.x, start, end, given);  // x_t = x_s + (t - s) u(x_s, s, t)
    ++solution.nfe;
    record(t);
  }
  return solution;
}

}  // namespace flowmatch
