#pragma once
#include <torch/nn/modules/embedding.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/normalization.h>

#include <vector>

#include "flowmatch/model/model_config.h"
#include "flowmatch/model/token_model.h"

namespace flowmatch {

// A token model (velocity_model.h) for short sequences of a fixed length L: each position's token
// is embedded, the L embeddings are concatenated, and an MLP with a time input gives all L x V logits:
//   h = in_projection([E(x_1), ..., E(x_L)]) + t_projection(emb(t)),  emb = sinusoidal embedding of t * 1000
//   h = h + blocks.i(SiLU(norms.i(h))) for i = 0 .. depth - 1 (pre-norm residual blocks)
//   logits = out_projection(h) viewed as [B, L, V]
struct TokenMLPOptions {
  int64_t width = 256;
  int64_t depth = 4;
  int64_t embedding_dim = 64;  // per token
  int64_t time_dim = 128;
};

class TokenMLP : public TokenModel {
 public:
  TokenMLP(TokenShape shape, const TokenMLPOptions& options);
  // {"name": "token-mlp", "length": L, "vocabulary": V, "width", "depth", "embedding_dim", "time_dim"}
  static std::shared_ptr<VelocityModel> from_config(ModelConfig& config);
  at::Tensor forward(const at::Tensor& x, const at::Tensor& t) override;
  nlohmann::json config() const override;
  double floats_per_row() const override {
    return double(shape_.length) * double(options_.embedding_dim + 3 * shape_.vocabulary) + double(options_.time_dim) +
           double(options_.width) * double(2 * options_.depth + 2);
  }

 private:
  TokenMLPOptions options_;
  at::Tensor frequencies_;
  torch::nn::Embedding embedding_{nullptr};
  torch::nn::Linear in_projection_{nullptr}, t_projection_{nullptr}, out_projection_{nullptr};
  std::vector<torch::nn::Linear> blocks_;
  std::vector<torch::nn::LayerNorm> norms_;
};

}  // namespace flowmatch
