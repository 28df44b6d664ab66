#include "flowmatch/model/token_transformer.h"

#include <torch/torch.h>

#include <cmath>

#include "flowmatch/model/time_embedding.h"

namespace flowmatch {

struct TokenTransformer::Block : torch::nn::Module {
  Block(int64_t width, int64_t heads)
      : heads(heads),
        norm1(register_module("norm1", torch::nn::LayerNorm(torch::nn::LayerNormOptions({width})))),
        qkv(register_module("qkv", torch::nn::Linear(width, 3 * width))),
        attention_out(register_module("attention_out", torch::nn::Linear(width, width))),
        norm2(register_module("norm2", torch::nn::LayerNorm(torch::nn::LayerNormOptions({width})))),
        ff1(register_module("ff1", torch::nn::Linear(width, 4 * width))),
        ff2(register_module("ff2", torch::nn::Linear(4 * width, width))) {}

  // softmax(q k^T / sqrt(d_head)) v in each head, over all positions
  at::Tensor attention(const at::Tensor& h) {
    const int64_t batch = h.size(0), length = h.size(1), width = h.size(2), head_dim = width / heads;
    std::vector<at::Tensor> q_k_v = qkv(h).view({batch, length, 3, heads, head_dim}).permute({2, 0, 3, 1, 4}).unbind(0);
    at::Tensor weights = torch::softmax(torch::matmul(q_k_v[0], q_k_v[1].transpose(-2, -1)) / std::sqrt(double(head_dim)), -1);
    return attention_out(torch::matmul(weights, q_k_v[2]).transpose(1, 2).reshape({batch, length, width}));
  }

  at::Tensor forward(at::Tensor h) {
    h = h + attention(norm1(h));
    return h + ff2(torch::gelu(ff1(norm2(h))));
  }

  int64_t heads;
  torch::nn::LayerNorm norm1;
  torch::nn::Linear qkv, attention_out;
  torch::nn::LayerNorm norm2;
  torch::nn::Linear ff1, ff2;
};

std::shared_ptr<VelocityModel> TokenTransformer::from_config(ModelConfig& config) {
  TokenTransformerOptions o;
  TokenShape shape = take_token_shape(config);
  o.width = config.take("width", o.width);
  o.depth = config.take("depth", o.depth);
  o.heads = config.take("heads", o.heads);
  o.time_dim = config.take("time_dim", o.time_dim);
  for (int64_t size : {o.width, o.depth, o.heads, o.time_dim})
    if (size < 1) throw Error("transformer needs width, depth, heads and time_dim >= 1");
  if (o.width % o.heads != 0)
    throw Error("transformer's width " + std::to_string(o.width) + " must be a multiple of its " + std::to_string(o.heads) + " heads");
  return std::make_shared<TokenTransformer>(shape, o);
}

TokenTransformer::TokenTransformer(TokenShape shape, const TokenTransformerOptions& options)
    : TokenModel(shape), options_(options), frequencies_(sinusoidal_frequencies(options.time_dim)) {
  const int64_t width = options.width;
  embedding_ = register_module("embedding", torch::nn::Embedding(shape.vocabulary + 1, width));  // + the mask
  position_ = register_module("position", torch::nn::Embedding(shape.length, width));
  t_in_ = register_module("t_in", torch::nn::Linear(options.time_dim, width));
  t_out_ = register_module("t_out", torch::nn::Linear(width, width));
  auto blocks = register_module("blocks", torch::nn::ModuleList());
  for (int64_t i = 0; i < options.depth; ++i) {
    blocks_.push_back(std::make_shared<Block>(width, options.heads));
    blocks->push_back(blocks_.back());
  }
  out_norm_ = register_module("out_norm", torch::nn::LayerNorm(torch::nn::LayerNormOptions({width})));
  out_projection_ = register_module("out_projection", torch::nn::Linear(width, shape.vocabulary));
}

at::Tensor TokenTransformer::forward(const at::Tensor& x, const at::Tensor& t) {
  check_tokens(x);
  at::Tensor time = t_out_(torch::silu(t_in_(sinusoidal_embedding(t, frequencies_, 1000.0))));
  at::Tensor h = embedding_(x) + position_->weight.unsqueeze(0) + time.unsqueeze(1);
  for (auto& block : blocks_) h = block->forward(h);
  return out_projection_(out_norm_(h));
}

nlohmann::json TokenTransformer::config() const {
  return {{"name", "transformer"},   {"length", shape_.length},       {"vocabulary", shape_.vocabulary},
          {"width", options_.width}, {"depth", options_.depth}, {"heads", options_.heads},
          {"time_dim", options_.time_dim}};
}

}  // namespace flowmatch
