#include "flowmatch/ode/runge_kutta.h"

#include <torch/torch.h>

#include <tuple>

namespace flowmatch {

namespace {
const std::vector<ButcherTableau>& tableaux() {
  static const std::vector<ButcherTableau> table = {
      {"euler", {0.0}, {{}}, {1.0}},
      {"midpoint", {0.0, 0.5}, {{}, {0.5}}, {0.0, 1.0}},
      {"heun", {0.0, 1.0}, {{}, {1.0}}, {0.5, 0.5}},
      {"rk4", {0.0, 0.5, 0.5, 1.0}, {{}, {0.5}, {0.0, 0.5}, {0.0, 0.0, 1.0}}, {1 / 6.0, 1 / 3.0, 1 / 3.0, 1 / 6.0}},
  };
  return table;
}
}  // namespace

std::vector<std::string> fixed_grid_names() {
  std::vector<std::string> names;
  for (const auto& tableau : tableaux()) names.push_back(tableau.name);
  return names;
}

const ButcherTableau* fixed_grid_tableau(const std::string& name) {
  for (const auto& tableau : tableaux())
    if (tableau.name == name) return &tableau;
  return nullptr;
}

at::Tensor combine_stages(const at::Tensor& x, double h, const std::vector<double>& weights,
                          const std::vector<at::Tensor>& k) {
  at::Tensor out = x;
  for (size_t j = 0; j < weights.size(); ++j)
    if (weights[j] != 0.0) out = out + (h * weights[j]) * k[j];
  return out;
}

std::vector<at::Tensor> runge_kutta_stages(const ButcherTableau& tableau, const VelocityFn& v, const at::Tensor& x,
                                           double t, double h, const at::Tensor& k0) {
  std::vector<at::Tensor> k;
  k.reserve(tableau.c.size());
  k.push_back(k0.defined() ? k0 : v(x, t));
  for (size_t i = 1; i < tableau.c.size(); ++i) k.push_back(v(combine_stages(x, h, tableau.a[i], k), t + tableau.c[i] * h));
  return k;
}

Solution solve_fixed_grid(const ButcherTableau& tableau, const VelocityFn& v, const at::Tensor& x0,
                          const std::vector<double>& times, bool keep_trajectory, const StepStart& step_start) {
  Solution out;
  at::Tensor x = x0;
  if (keep_trajectory) {
    out.times.push_back(times.front());
    out.states.push_back(x0);
  }
  for (size_t i = 0; i + 1 < times.size(); ++i) {
    double t = times[i];
    if (step_start) std::tie(x, t) = step_start(x, t, times[i + 1]);
    const double h = times[i + 1] - t;
    x = combine_stages(x, h, tableau.b, runge_kutta_stages(tableau, v, x, t, h));
    out.nfe += int64_t(tableau.c.size());
    if (keep_trajectory) {
      out.times.push_back(times[i + 1]);
      out.states.push_back(x);
    }
  }
  out.x = x;
  return out;
}

}  // namespace flowmatch
