#include "flowmatch/model/residual_mlp.h"

#include <torch/torch.h>

#include <cmath>

#include "flowmatch/core/error.h"
#include "flowmatch/model/time_embedding.h"

namespace flowmatch {

namespace {
struct ResidualBlock : torch::nn::Module {
  ResidualBlock(int64_t width, bool film)
      : ff1(register_module("ff1", torch::nn::Linear(width, width))),
        ff2(register_module("ff2", torch::nn::Linear(width, width))) {
    if (film) this->film = register_module("film", torch::nn::Linear(width, 2 * width));
  }
  torch::nn::Linear ff1, ff2, film{nullptr};
};
}  // namespace

std::shared_ptr<VelocityModel> ResidualMLP::from_config(ModelConfig& config) {
  int64_t data_dim = config.take_data_dim();
  ResidualMLPOptions o;
  o.width = config.take("width", o.width);
  o.depth = config.take("depth", o.depth);
  o.activation = config.take("activation", o.activation);
  o.time_dim = config.take("time_dim", o.time_dim);
  o.interval = config.take("interval", o.interval);
  // MeanFlow differentiates the network in time; through the x1000 embedding that derivative is so
  // steep that training diverges (loss 4e5 by step 1000 on the checkerboard), so interval models see t x 10.
  o.time_scale = config.take("time_scale", o.interval ? 10.0 : o.time_scale);
  o.fourier_features = config.take("fourier_features", o.fourier_features);
  o.fourier_scale = config.take("fourier_scale", o.fourier_scale);
  o.context_dim = config.take("context_dim", o.context_dim);
  if (o.context_dim > 0) o.context_mode = config.take("context_mode", o.context_mode);
  o.linear_term = config.take("linear_term", o.linear_term);
  return std::make_shared<ResidualMLP>(data_dim, o);
}

ResidualMLP::ResidualMLP(int64_t data_dim, const ResidualMLPOptions& options)
    : data_dim_(data_dim), options_(options) {
  const auto& o = options_;
  if (o.width < 1 || o.depth < 0 || o.time_dim < 4 || o.time_dim % 2 || o.fourier_features < 0)
    throw Error("mlp: width >= 1, depth >= 0, an even time_dim >= 4 and fourier_features >= 0 are required");
  if (o.activation != "silu" && o.activation != "relu" && o.activation != "gelu")
    throw Error("mlp: unknown activation '" + o.activation + "' (choose silu, relu or gelu)");
  if (o.context_dim < 0 || (o.context_mode != "add" && o.context_mode != "film"))
    throw Error("mlp: context_dim >= 0 and a context_mode of add or film are required");
  if (o.linear_term && o.interval)
    throw Error("mlp: the linear term is for flows, not for interval (MeanFlow) models");
  frequencies_ = sinusoidal_frequencies(o.time_dim);
  fourier_basis_ = register_buffer("fourier_basis", torch::randn({data_dim, o.fourier_features}) * o.fourier_scale);
  int64_t in_features = data_dim + 2 * o.fourier_features;
  in_projection_ = register_module("in_projection", torch::nn::Linear(in_features, o.width));
  t_projection_ = register_module("t_projection", torch::nn::Linear(o.time_dim, o.width));
  if (o.interval) interval_projection_ = register_module("interval_projection", torch::nn::Linear(o.time_dim, o.width));
  auto blocks = register_module("blocks", torch::nn::ModuleList());
  for (int64_t i = 0; i < o.depth; ++i) {
    auto block = std::make_shared<ResidualBlock>(o.width, o.context_dim > 0 && o.context_mode == "film");
    blocks->push_back(block);
    blocks_.emplace_back(block->ff1, block->ff2);
    if (block->film) film_.push_back(block->film);
  }
  if (o.context_dim > 0)
    context_embedding_ = register_module("context_embedding", std::make_shared<ContextEmbedding>(o.context_dim, o.width));
  out_projection_ = register_module("out_projection", torch::nn::Linear(o.width, data_dim));
  if (o.linear_term) {  // zero at the start: the network begins as it would without the term
    linear_term_ = register_module("linear_term", torch::nn::Linear(kLinearTermDegree, data_dim * (data_dim + o.context_dim)));
    torch::NoGradGuard no_grad;
    linear_term_->weight.zero_();
    linear_term_->bias.zero_();
  }
}

at::Tensor ResidualMLP::act(const at::Tensor& x) const {
  if (options_.activation == "silu") return torch::silu(x);
  if (options_.activation == "relu") return torch::relu(x);
  return torch::gelu(x);
}

at::Tensor ResidualMLP::network(const at::Tensor& x, const at::Tensor& time_features, const at::Tensor& context_features) {
  at::Tensor features = x;
  if (options_.fourier_features > 0) {
    at::Tensor phase = torch::matmul(x, fourier_basis_) * (2 * M_PI);
    features = torch::cat({x, phase.sin(), phase.cos()}, 1);
  }
  at::Tensor h = in_projection_(features) + time_features;
  if (context_features.defined() && film_.empty()) h = h + context_features;  // add
  at::Tensor e = film_.empty() ? at::Tensor() : torch::silu(context_features);
  for (size_t i = 0; i < blocks_.size(); ++i) {
    auto& [ff1, ff2] = blocks_[i];
    at::Tensor in = h;
    if (!film_.empty()) {  // h * (1 + gamma_i) + beta_i
      auto gamma_beta = film_[i](e).chunk(2, 1);
      in = torch::addcmul(gamma_beta[1], h, 1 + gamma_beta[0]);
    }
    h = h + ff2(act(ff1(act(in))));
  }
  return out_projection_(act(h));
}

at::Tensor ResidualMLP::context_features(const at::Tensor& x, const at::Tensor& context, const at::Tensor& dropped) {
  if (context_embedding_) return context_embedding_->forward(context, dropped, x.size(0), x.options());
  if (context.defined()) VelocityModel::forward_context(x, {}, context, dropped);  // says this model takes none
  return {};
}

at::Tensor ResidualMLP::forward(const at::Tensor& x, const at::Tensor& t) {
  return forward_context(x, t, {}, {});  // an undefined context: the unconditional field
}

at::Tensor ResidualMLP::forward_context(const at::Tensor& x, const at::Tensor& t, const at::Tensor& context,
                                        const at::Tensor& dropped) {
  if (options_.interval) return forward_average(x, t, t, Condition{{}, context, dropped});  // v(x, t) = u(x, t, t)
  at::Tensor v = network(x, t_projection_(sinusoidal_embedding(t, frequencies_, options_.time_scale)),
                         context_features(x, context, dropped));
  return linear_term_ ? v + linear_term(x, t, context, dropped) : v;
}

at::Tensor ResidualMLP::linear_term(const at::Tensor& x, const at::Tensor& t, const at::Tensor& context,
                                    const at::Tensor& dropped) {
  at::Tensor z = x;  // [x, m c]
  if (context_embedding_) {
    at::Tensor given = context_embedding_->input(context, dropped, x.size(0), x.options());  // [m c, m]
    z = torch::cat({x, given.narrow(1, 0, options_.context_dim)}, 1);
  }
  at::Tensor A = linear_term_(chebyshev_basis(t, kLinearTermDegree))  // A(t) [B, D, D + C]
                     .view({-1, data_dim_, z.size(1)})
                     .expand({x.size(0), -1, -1});
  return torch::bmm(A, z.unsqueeze(2)).squeeze(2);
}

at::Tensor ResidualMLP::forward_average(const at::Tensor& x, const at::Tensor& s, const at::Tensor& t,
                                        const Condition& given) {
  if (!options_.interval) return VelocityModel::forward_average(x, s, t, given);
  if (given.labels.defined()) return VelocityModel::forward_class(x, t, given.labels);  // says it takes no classes
  return network(x,
                 t_projection_(sinusoidal_embedding(s, frequencies_, options_.time_scale)) +
                     interval_projection_(sinusoidal_embedding(t - s, frequencies_, options_.time_scale)),
                 context_features(x, given.context, given.dropped));
}

nlohmann::json ResidualMLP::config() const {
  const auto& o = options_;
  nlohmann::json config = {{"name", "mlp"},
          {"data_dim", data_dim_},
          {"width", o.width},
          {"depth", o.depth},
          {"activation", o.activation},
          {"time_dim", o.time_dim},
          {"time_scale", o.time_scale},
          {"fourier_features", o.fourier_features},
          {"fourier_scale", o.fourier_scale}};
  if (o.interval) config["interval"] = true;  // left out otherwise, so plain models' files are unchanged
  if (o.context_dim > 0) {
    config["context_dim"] = o.context_dim;
    config["context_mode"] = o.context_mode;
  }
  if (o.linear_term) config["linear_term"] = true;  // as interval: files without it are unchanged
  return config;
}

}  // namespace flowmatch
