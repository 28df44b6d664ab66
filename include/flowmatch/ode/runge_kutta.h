#pragma once
#include <ATen/core/Tensor.h>

#include <string>
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

// `steps` equal steps of the tableau's method from t0 to t1.
Solution solve_fixed_grid(const ButcherTableau& tableau, const VelocityFn& v, const at::Tensor& x0, double t0,
                          double t1, int64_t steps, bool keep_trajectory);

}  // namespace flowmatch
