#include "flowmatch/model/token_mlp.h"

#include <torch/torch.h>

#include "flowmatch/model/time_embedding.h"

namespace flowmatch {

std::shared_ptr<VelocityModel> TokenMLP::from_config(ModelConfig& config) {
  TokenMLPOptions o;
  TokenShape shape = take_token_shape(config);
  o.width = config.take("width", o.width);
  o.depth = config.take("depth", o.depth);
  o.embedding_dim = config.take("embedding_dim", o.embedding_dim);
  o.time_dim = config.take("time_dim", o.time_dim);
  for (int64_t size : {o.width, o.depth, o.embedding_dim, o.time_dim})
    if (size < 1) throw Error("token-mlp needs width, depth, embedding_dim and time_dim >= 1");
  return std::make_shared<TokenMLP>(shape, o);
}

TokenMLP::TokenMLP(TokenShape shape, const TokenMLPOptions& options)
    : TokenModel(shape), options_(options), frequencies_(sinusoidal_frequencies(options.time_dim)) {
  embedding_ = register_module("embedding", torch::nn::Embedding(shape.vocabulary + 1, options.embedding_dim));  // + the mask
  in_projection_ = register_module("in_projection", torch::nn::Linear(shape.length * options.embedding_dim, options.width));
  t_projection_ = register_module("t_projection", torch::nn::Linear(options.time_dim, options.width));
  auto blocks = register_module("blocks", torch::nn::ModuleList());
  auto norms = register_module("norms", torch::nn::ModuleList());
  for (int64_t i = 0; i < options.depth; ++i) {
    blocks_.push_back(torch::nn::Linear(options.width, options.width));
    blocks->push_back(blocks_.back());
    norms_.push_back(torch::nn::LayerNorm(torch::nn::LayerNormOptions({options.width})));
    norms->push_back(norms_.back());
  }
  out_projection_ = register_module("out_projection", torch::nn::Linear(options.width, shape.length * shape.vocabulary));
}

at::Tensor TokenMLP::forward(const at::Tensor& x, const at::Tensor& t) {
  check_tokens(x);
  at::Tensor h = in_projection_(embedding_(x).flatten(1)) + t_projection_(sinusoidal_embedding(t, frequencies_, 1000.0));
  for (size_t i = 0; i < blocks_.size(); ++i) h = h + blocks_[i](torch::silu(norms_[i](h)));
  return out_projection_(h).view({x.size(0), shape_.length, shape_.vocabulary});
}

nlohmann::json TokenMLP::config() const {
  return {{"name", "token-mlp"},        {"length", shape_.length},       {"vocabulary", shape_.vocabulary},
          {"width", options_.width},    {"depth", options_.depth}, {"embedding_dim", options_.embedding_dim},
          {"time_dim", options_.time_dim}};
}

}  // namespace flowmatch
