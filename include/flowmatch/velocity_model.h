#pragma once
#include <torch/nn/module.h>

#include <nlohmann/json.hpp>

namespace flowmatch {

// A velocity network v(x, t): x [B, D], t [B] in [0, 1] -> [B, D]. Its config() is the JSON that
// make_model() takes to rebuild it, stored in every weights file.
class VelocityModel : public torch::nn::Module {
 public:
  virtual at::Tensor forward(const at::Tensor& x, const at::Tensor& t) = 0;
  virtual nlohmann::json config() const = 0;
  virtual int64_t data_dim() const = 0;
};

}  // namespace flowmatch
