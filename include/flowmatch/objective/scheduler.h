#pragma once
#include <ATen/core/Tensor.h>

#include <memory>
#include <string>
#include <vector>

namespace flowmatch {

// The affine probability path x_t = alpha_t * x1 + sigma_t * x0 (t = 0 noise, t = 1 data), whose
// conditional velocity is u_t = d_alpha_t * x1 + d_sigma_t * x0.
struct SchedulerValues {
  at::Tensor alpha, sigma, d_alpha, d_sigma;
};

class Scheduler {
 public:
  virtual ~Scheduler() = default;
  // Values at times t (any shape); the results have t's shape.
  virtual SchedulerValues operator()(const at::Tensor& t) const = 0;
};

// condot, cosine, vp, poly: one entry each in scheduler.cpp's table.
std::vector<std::string> scheduler_names();
// Throws Error for an unknown name; `poly_exponent` is n of the poly scheduler.
std::unique_ptr<Scheduler> make_scheduler(const std::string& name, double poly_exponent = 2.0);

}  // namespace flowmatch
