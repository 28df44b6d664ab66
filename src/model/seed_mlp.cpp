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

SeedMLP::SeedMLP(int64_t data_dim, int64_t width, int64_t layers, int64_t time_dim)
    : data_dim_(data_dim), width_(width), layers_(layers), time_dim_(time_dim),
      frequencies_(sinusoidal_frequencies(time_dim)) {
  in_projection_ = register_module("in_projection", torch::nn::Linear(data_dim, width));
  t_projection_ = register_module("t_projection", torch::nn::Linear(time_dim, width));
  auto blocks = register_module("blocks", torch::nn::ModuleList());
  for (int64_t i = 0; i < layers; ++i) {
    auto block = std::make_shared<SeedBlock>(width);
    blocks->push_back(block);
    ff_.push_back(block->ff);
  }
  out_projection_ = register_module("out_projection", torch::nn::Linear(width, data_dim));
}

at::Tensor SeedMLP::forward(const at::Tensor& x, const at::Tensor& t) {
  at::Tensor h = in_projection_(x) + t_projection_(sinusoidal_embedding(t, frequencies_, 10000.0));
  for (auto& ff : ff_) h = torch::relu(ff(h));
  return out_projection_(h);
}

nlohmann::json SeedMLP::config() const {
  return {{"name", "seed-mlp"}, {"data_dim", data_dim_}, {"width", width_}, {"depth", layers_}, {"time_dim", time_dim_}};
}

}  // namespace flowmatch
