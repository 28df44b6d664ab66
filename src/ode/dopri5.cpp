#include "flowmatch/ode/dopri5.h"

#include <torch/torch.h>

#include <algorithm>
#include <cmath>

#include "flowmatch/core/error.h"
#include "flowmatch/ode/runge_kutta.h"

namespace flowmatch {

namespace {
const ButcherTableau& dopri5_tableau() {
  static const ButcherTableau t = {
      "dopri5",
      {0.0, 1 / 5.0, 3 / 10.0, 4 / 5.0, 8 / 9.0, 1.0, 1.0},
      {{},
       {1 / 5.0},
       {3 / 40.0, 9 / 40.0},
       {44 / 45.0, -56 / 15.0, 32 / 9.0},
       {19372 / 6561.0, -25360 / 2187.0, 64448 / 6561.0, -212 / 729.0},
       {9017 / 3168.0, -355 / 33.0, 46732 / 5247.0, 49 / 176.0, -5103 / 18656.0},
       {35 / 384.0, 0.0, 500 / 1113.0, 125 / 192.0, -2187 / 6784.0, 11 / 84.0}},
      {35 / 384.0, 0.0, 500 / 1113.0, 125 / 192.0, -2187 / 6784.0, 11 / 84.0, 0.0}};
  return t;
}
// The embedded 4th-order weights; the error estimate is h sum_i (b_i - b*_i) k_i.
const std::vector<double> kFourthOrder = {5179 / 57600.0,     0.0,          7571 / 16695.0, 393 / 640.0,
                                          -92097 / 339200.0, 187 / 2100.0, 1 / 40.0};
constexpr int64_t kMaxSteps = 100000;

double scaled_rms(const at::Tensor& e, const at::Tensor& x, const at::Tensor& x_new, double atol, double rtol) {
  at::Tensor scale = atol + rtol * torch::maximum(x.abs(), x_new.abs());
  return (e / scale).pow(2).mean().sqrt().item<double>();
}
}  // namespace

Solution solve_dopri5(const VelocityFn& v, const at::Tensor& x0, double t0, double t1, double atol, double rtol,
                      bool keep_trajectory) {
  const ButcherTableau& tableau = dopri5_tableau();
  std::vector<double> error_weights(tableau.b.size());
  for (size_t i = 0; i < error_weights.size(); ++i) error_weights[i] = tableau.b[i] - kFourthOrder[i];

  Solution out;
  const double span = t1 - t0, direction = span >= 0 ? 1.0 : -1.0;
  at::Tensor x = x0, k0 = v(x0, t0);
  out.nfe = 1;
  if (keep_trajectory) {
    out.times.push_back(t0);
    out.states.push_back(x0);
  }
  // Initial step (Hairer, Norsett & Wanner II.4): h = 0.01 * |x| / |v| in the scaled norm.
  at::Tensor zero = torch::zeros_like(x0);
  double d0 = scaled_rms(x0, x0, x0, atol, rtol), d1 = scaled_rms(k0, x0, x0, atol, rtol);
  double h = (d0 < 1e-5 || d1 < 1e-5) ? 1e-6 : 0.01 * d0 / d1;
  h = direction * std::min(h, std::abs(span));

  double t = t0;
  for (int64_t step = 0; direction * (t1 - t) > 1e-12 * std::abs(span); ++step) {
    if (step >= kMaxSteps) throw Error("dopri5: more than 100000 steps; loosen --atol/--rtol");
    if (direction * (t + h - t1) > 0) h = t1 - t;
    std::vector<at::Tensor> k = runge_kutta_stages(tableau, v, x, t, h, k0);
    out.nfe += int64_t(k.size()) - 1;
    at::Tensor x_new = combine_stages(x, h, tableau.b, k);
    at::Tensor error = combine_stages(zero, h, error_weights, k);
    double err = scaled_rms(error, x, x_new, atol, rtol);
    if (!std::isfinite(err)) throw Error("dopri5: the solution became non-finite at t = " + std::to_string(t));
    if (err <= 1.0) {
      t = (std::abs(t1 - (t + h)) < 1e-12 * std::abs(span)) ? t1 : t + h;
      x = x_new;
      k0 = k.back();  // first same as last: the last stage is v(x_new, t + h)
      if (keep_trajectory) {
        out.times.push_back(t);
        out.states.push_back(x);
      }
    }
    double factor = err == 0.0 ? 10.0 : std::clamp(0.9 * std::pow(err, -0.2), 0.2, 10.0);
    h *= factor;
  }
  out.x = x;
  return out;
}

}  // namespace flowmatch
