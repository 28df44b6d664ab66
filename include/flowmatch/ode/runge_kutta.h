#pragma once
#include <ATen/core/Tensor.h>

#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "flowmatch/ode/solution.h"

namespace flowmatch {

// An explicit Runge-Kutta method as its Butcher tableau: stage i is evaluated at t + c_i h on
// x + h sum_{j<i} a_ij k_j, and the step is x + h sum_i b_i k_i.
struct ButcherTableau {
  std::string name;
  std::vector<double> c;
  std::vector<std::vector<double>> a;  // a[i] has i entries
  std::vector<double> b;
};

// The fixed-grid solvers: euler, midpoint, heun, rk4. A new one is one more tableau in
// runge_kutta.cpp's table.
std::vector<std::string> fixed_grid_names();
// The tableau named `name`; nullptr for another name.
const ButcherTableau* fixed_grid_tableau(const std::string& name);

// The stages k_0 .. k_{s-1} of one step of size h from (x, t); `k0`, when defined, is reused as the
// first stage (first-same-as-last methods).
std::vector<at::Tensor> runge_kutta_stages(const ButcherTableau& tableau, const VelocityFn& v, const at::Tensor& x,
                                           double t, double h, const at::Tensor& k0 = {});
// x + h sum_i weights_i k_i, skipping zero weights.
at::Tensor combine_stages(const at::Tensor& x, double h, const std::vector<double>& weights,
                          const std::vector<at::Tensor>& k);

// Where a step begins: given the state x at grid time t and the next grid time, the (x, t) the step
// starts from. Plain integration starts where it is; stochastic sampling (stochastic_sampler.h)
// first moves back along the path, adding noise.
using StepStart = std::function<std::pair<at::Tensor, double>(const at::Tensor& x, double t, double t_next)>;

// One step of the tableau's method between each pair of neighbouring `times` (ascending or
// descending; time_grid.h lays them out).
Solution solve_fixed_grid(const ButcherTableau& tableau, const VelocityFn& v, const at::Tensor& x0,
                          const std::vector<double>& times, bool keep_trajectory, const StepStart& step_start = {});

}  // namespace flowmatch
