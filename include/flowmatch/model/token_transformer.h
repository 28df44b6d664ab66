#pragma once
#include <torch/nn/modules/embedding.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/normalization.h>

#include <memory>
#include <vector>

#include "flowmatch/model/model_config.h"
#include "flowmatch/model/token_model.h"

namespace flowmatch {

// A token model (velocity_model.h) for sequences: a small pre-norm transformer encoder whose
// attention sees every position (no causal mask: the data token at a position depends on both sides):
//   h = E(x) + P + time(t),  time(t) = t_out(SiLU(t_in(emb(t)))), emb = sinusoidal embedding of t * 1000
//   h = h + attention(LN(h)),  h = h + ff2(GELU(ff1(LN(h))))   for each of `depth` blocks
//   logits = out_projection(LN(h))                             [B, L, V]
// P is a learned embedding of the position, one per position of the `length` tokens (text lines are
// ended and padded to it, data/token_data.h).
struct TokenTransformerOptions {
  int64_t width = 128;  // d_model
  int64_t depth = 4;
  int64_t heads = 4;
  int64_t time_dim = 128;
};

class TokenTransformer : public TokenModel {
 public:
  TokenTransformer(TokenShape shape, const TokenTransformerOptions& options);
  // {"name": "transformer", "length": L, "vocabulary": V, "width", "depth", "heads", "time_dim"}
  static std::shared_ptr<VelocityModel> from_config(ModelConfig& config);
  at::Tensor forward(const at::Tensor& x, const at::Tensor& t) override;
  nlohmann::json config() const override;
  double floats_per_row() const override {
    const double width = double(options_.width), length = double(shape_.length);
    return length * (double(options_.depth) * (14 * width + 2 * double(options_.heads) * length) + 3 * double(shape_.vocabulary));
  }

  struct Block;  // token_transformer.cpp

 private:
  TokenTransformerOptions options_;
  at::Tensor frequencies_;
  torch::nn::Embedding embedding_{nullptr}, position_{nullptr};
  torch::nn::Linear t_in_{nullptr}, t_out_{nullptr}, out_projection_{nullptr};
  torch::nn::LayerNorm out_norm_{nullptr};
  std::vector<std::shared_ptr<Block>> blocks_;
};

}  // namespace flowmatch
