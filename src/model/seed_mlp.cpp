#include "flowmatch/model/seed_mlp.h"

#include <torch/torch.h>

#include "flowmatch/model/time_embedding.h"

namespace flowmatch {

namespace {
// blocks.{i} holds one Linear called ff, as the seed's SeedBlock module does.
struct SeedBlock : torch::nn::Module {
  explicit SeedBlock(int64_t width) : ff(register_module("ff", torch::nn::Linear(width, width))) {}
  torch::nn::Linear ff;
};
}  // namespace

std::shared_ptr<VelocityModel> SeedMLP::from_config(ModelConfig& config) {
  SeedMLPOptions o;
  o.width = config.take("width", o.width);
  o.depth = config.take("depth", o.depth);
  o.time_dim = config.take("time_dim", o.time_dim);
  o.context_dim = config.take("context_dim", o.context_dim);
  return std::make_shared<SeedMLP>(config.take_data_dim(), o);
}

SeedMLP::SeedMLP(int64_t data_dim, const SeedMLPOptions& options)
    : data_dim_(data_dim), options_(options), frequencies_(sinusoidal_frequencies(options.time_dim)) {
  int64_t width = options.width, layers = options.depth, time_dim = options.time_dim;
  in_projection_ = register_module("in_projection", torch::nn::Linear(data_dim, width));
  t_projection_ = register_module("t_projection", torch::nn::Linear(time_dim, width));
  auto blocks = register_module("blocks", torch::nn::ModuleList());
  for (int64_t i = 0; i < layers; ++i) {
    auto block = std::make_shared<SeedBlock>(width);
    blocks->push_back(block);
    ff_.push_back(block->ff);
  }
  out_projection_ = register_module("out_projection", torch::nn::Linear(width, data_dim));
  if (options.context_dim > 0)
    context_embedding_ = register_module("context_embedding", std::make_shared<ContextEmbedding>(options.context_dim, width));
}

at::Tensor SeedMLP::network(const at::Tensor& x, const at::Tensor& t, const at::Tensor& context_features) {
  at::Tensor h = in_projection_(x) + t_projection_(sinusoidal_embedding(t, frequencies_, 10000.0));
  if (context_features.defined()) h = h + context_features;
  for (auto& ff : ff_) h = torch::relu(ff(h));
  return out_projection_(h);
}

at::Tensor SeedMLP::forward(const at::Tensor& x, const at::Tensor& t) {
  if (!context_embedding_) return network(x, t);
  return network(x, t, context_embedding_->forward({}, {}, x.size(0), x.options()));  // the unconditional field
}

at::Tensor SeedMLP::forward_context(const at::Tensor& x, const at::Tensor& t, const at::Tensor& context,
                                    const at::Tensor& dropped) {
  if (!context_embedding_) return VelocityModel::forward_context(x, t, context, dropped);
  return network(x, t, context_embedding_->forward(context, dropped, x.size(0), x.options()));
}

nlohmann::json SeedMLP::config() const {
  nlohmann::json config = {{"name", "seed-mlp"},
          {"data_dim", data_dim_},
          {"width", options_.width},
          {"depth", options_.depth},
          {"time_dim", options_.time_dim}};
  if (options_.context_dim > 0) config["context_dim"] = options_.context_dim;
  return config;
}

}  // namespace flowmatch
