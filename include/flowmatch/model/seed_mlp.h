#pragma once
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/linear.h>

#include "flowmatch/model/velocity_model.h"

namespace flowmatch {

// The seed's network, with its PyTorch state_dict names:
//   h = in_projection(x) + t_projection(emb(t)),  emb = 512-dim sinusoidal embedding of t * 10000
//   h = ReLU(blocks.i.ff(h)) for i = 0..4,  v = out_projection(h)
class SeedMLP : public VelocityModel {
 public:
  explicit SeedMLP(int64_t data_dim, int64_t width = 512, int64_t layers = 5, int64_t time_dim = 512);
  at::Tensor forward(const at::Tensor& x, const at::Tensor& t) override;
  nlohmann::json config() const override;
  std::vector<int64_t> sample_shape() const override { return {data_dim_}; }

 private:
  int64_t data_dim_, width_, layers_, time_dim_;
  at::Tensor frequencies_;
  torch::nn::Linear in_projection_{nullptr}, t_projection_{nullptr}, out_projection_{nullptr};
  std::vector<torch::nn::Linear> ff_;
};

}  // namespace flowmatch
