#include "flowmatch/objective/scheduler.h"

#include <torch/torch.h>

#include <cmath>
#include <functional>

#include "flowmatch/core/error.h"
#include "flowmatch/core/registry.h"

namespace flowmatch {

namespace {
// CondOT: alpha = t, sigma = 1 - t; the target is x1 - x0.
class CondOTScheduler : public Scheduler {
 public:
  SchedulerValues operator()(const at::Tensor& t) const override {
    return {t, 1 - t, torch::ones_like(t), -torch::ones_like(t)};
  }
};

// Cosine: alpha = sin(pi t / 2), sigma = cos(pi t / 2).
class CosineScheduler : public Scheduler {
 public:
  SchedulerValues operator()(const at::Tensor& t) const override {
    at::Tensor angle = t * (M_PI / 2);
    return {angle.sin(), angle.cos(), (M_PI / 2) * angle.cos(), -(M_PI / 2) * angle.sin()};
  }
};

// Variance preserving (the DDPM/score-SDE schedule run forward in time):
//   T(t) = 0.5 (1-t)^2 (b_max - b_min) + (1-t) b_min,  alpha = exp(-T/2),  sigma = sqrt(1 - alpha^2)
//   dT/dt = -(1-t)(b_max - b_min) - b_min,  d_alpha = -alpha dT/dt / 2,  d_sigma = -alpha d_alpha / sigma.
class VPScheduler : public Scheduler {
 public:
  SchedulerValues operator()(const at::Tensor& t) const override {
    constexpr double b_min = 0.1, b_max = 20.0;
    at::Tensor s = 1 - t;
    at::Tensor T = 0.5 * s * s * (b_max - b_min) + s * b_min;
    at::Tensor dT = -s * (b_max - b_min) - b_min;
    at::Tensor alpha = torch::exp(-0.5 * T);
    at::Tensor sigma = torch::sqrt((1 - alpha * alpha).clamp_min(1e-12));
    at::Tensor d_alpha = -0.5 * dT * alpha;
    return {alpha, sigma, d_alpha, -alpha * d_alpha / sigma};
  }
};

// Polynomial: alpha = t^n, sigma = 1 - t^n.
class PolyScheduler : public Scheduler {
 public:
  explicit PolyScheduler(double n) : n_(n) {
    if (!(n > 0)) throw Error("poly scheduler exponent must be positive, got " + std::to_string(n));
  }
  SchedulerValues operator()(const at::Tensor& t) const override {
    at::Tensor d_alpha = n_ * t.pow(n_ - 1);
    at::Tensor alpha = t.pow(n_);
    return {alpha, 1 - alpha, d_alpha, -d_alpha};
  }

 private:
  double n_;
};

using SchedulerFactory = std::function<std::unique_ptr<Scheduler>(double poly_exponent)>;

// One entry per scheduler.
const Registry<SchedulerFactory>& schedulers() {
  static const Registry<SchedulerFactory> registry(
      "scheduler", {
                       {"condot", [](double) { return std::make_unique<CondOTScheduler>(); }},
                       {"cosine", [](double) { return std::make_unique<CosineScheduler>(); }},
                       {"vp", [](double) { return std::make_unique<VPScheduler>(); }},
                       {"poly", [](double n) { return std::make_unique<PolyScheduler>(n); }},
                   });
  return registry;
}
}  // namespace

std::vector<std::string> scheduler_names() { return schedulers().names(); }

std::unique_ptr<Scheduler> make_scheduler(const std::string& name, double poly_exponent) {
  return schedulers()[name](poly_exponent);
}

}  // namespace flowmatch
