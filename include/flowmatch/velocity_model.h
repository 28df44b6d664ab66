#pragma once
#include <torch/nn/module.h>

#include <nlohmann/json.hpp>

namespace flowmatch {

// A velocity network v(x, t): x [B, D], t [B] in [0, 1] -> [B, D]. Its config() is the JSON that
// make_model() takes to rebuild it, stored in every weights file.
//
// Some models (built with an interval input, for MeanFlow) also give the average velocity over a
// time interval: u(x, s, t) = 1/(t - s) * integral_s^t v(x_tau, tau) dtau along the flow through x at
// time s, so that x_t = x + (t - s) u(x, s, t) in one evaluation; then v(x, t) = u(x, t, t).
class VelocityModel : public torch::nn::Module {
 public:
  virtual at::Tensor forward(const at::Tensor& x, const at::Tensor& t) = 0;
  virtual bool takes_interval() const { return false; }
  // u(x, s, t) with s, t [B]; throws Error unless takes_interval().
  virtual at::Tensor forward_average(const at::Tensor& x, const at::Tensor& s, const at::Tensor& t);
  virtual nlohmann::json config() const = 0;
  virtual int64_t data_dim() const = 0;
};

}  // namespace flowmatch
