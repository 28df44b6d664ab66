#pragma once
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/linear.h>

#include <memory>

#include "flowmatch/model/context_embedding.h"
#include "flowmatch/model/model_config.h"
#include "flowmatch/model/velocity_model.h"

namespace flowmatch {

// The seed's network, with its PyTorch state_dict names:
//   h = in_projection(x) + t_projection(emb(t)),  emb = 512-dim sinusoidal embedding of t * 10000
//   h = ReLU(blocks.i.ff(h)) for i = 0..4,  v = out_projection(h)
// With a context c, h's first line adds its embedding (context_embedding.h), as if c were concatenated to x.
struct SeedMLPOptions {
  int64_t width = 512;
  int64_t depth = 5;       // hidden Linear + ReLU layers
  int64_t time_dim = 512;  // sinusoidal embedding size
  int64_t context_dim = 0; // > 0: a context model v(x, t | c)
};

class SeedMLP : public VelocityModel {
 public:
  SeedMLP(int64_t data_dim, const SeedMLPOptions& options);
  // {"name": "seed-mlp", "data_dim": D, "width", "depth", "time_dim"}, the options defaulting as above.
  static std::shared_ptr<VelocityModel> from_config(ModelConfig& config);
  at::Tensor forward(const at::Tensor& x, const at::Tensor& t) override;
  int64_t context_dim() const override { return options_.context_dim; }
  at::Tensor forward_context(const at::Tensor& x, const at::Tensor& t, const at::Tensor& context,
                             const at::Tensor& dropped = {}) override;
  nlohmann::json config() const override;
  std::vector<int64_t> sample_shape() const override { return {data_dim_}; }
  double floats_per_row() const override {
    return double(data_dim_) * 3 + double(options_.time_dim) + double(options_.width) * double(2 * options_.depth + 4);
  }

 private:
  at::Tensor network(const at::Tensor& x, const at::Tensor& t, const at::Tensor& context_features = {});

  int64_t data_dim_;
  SeedMLPOptions options_;
  at::Tensor frequencies_;
  torch::nn::Linear in_projection_{nullptr}, t_projection_{nullptr}, out_projection_{nullptr};
  std::vector<torch::nn::Linear> ff_;
  std::shared_ptr<ContextEmbedding> context_embedding_;
};

}  // namespace flowmatch
