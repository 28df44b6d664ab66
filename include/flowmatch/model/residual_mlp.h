#pragma once
#include <torch/nn/modules/linear.h>

#include <memory>
#include <string>

#include "flowmatch/model/context_embedding.h"
#include "flowmatch/model/model_config.h"
#include "flowmatch/model/velocity_model.h"

namespace flowmatch {

struct ResidualMLPOptions {
  int64_t width = 256;
  int64_t depth = 4;                 // residual blocks
  std::string activation = "silu";   // silu | relu | gelu
  int64_t time_dim = 128;            // sinusoidal embedding size
  double time_scale = 1000.0;        // the embedding sees t * time_scale (from_config: 10 for interval models)
  int64_t fourier_features = 64;     // random Fourier features of x (0 = raw x only)
  double fourier_scale = 0.5;        // std of their frequencies, in cycles per unit of x
  bool interval = false;             // also embed the interval t - s: an average-velocity model
  int64_t context_dim = 0;           // > 0: a context model v(x, t | c) with c of this size
  std::string context_mode = "add";  // how c enters: add | film (docs/conditional.md says why add)
  bool linear_term = false;          // add A(t) [x, c] to v (not with `interval`; docs/conditional.md says when)
};

// The default velocity network ("mlp"):
//   f(x) = [x, sin(2 pi x B), cos(2 pi x B)]        (B ~ N(0, fourier_scale^2), [D, F], a fixed buffer)
//   h = in_projection(f(x)) + t_projection(emb(t))
//   h = h + blocks.i.ff2(act(blocks.i.ff1(act(h))))  for i < depth
//   v = out_projection(act(h))
// With `interval`, u(x, s, t) adds interval_projection(emb(t - s)) to h, with t_projection(emb(s)),
// as MeanFlow embeds (t, t - r); then v(x, t) = u(x, t, t), with or without a context.
// With a context c (context_embedding.h: e = embed(c)):
//   add:  h = in_projection(f(x)) + t_projection(emb(t)) + e, as if c were concatenated to the input
//   film: each block's input is h * (1 + gamma_i) + beta_i, (gamma_i, beta_i) = blocks.i.film(silu(e))
// With `linear_term`, v += A(t) [x, m c], A(t) = A_0 + sum_k A_k T_k(2t - 1) [D, D + C], the
// Chebyshev polynomials T_k for k = 1 .. kLinearTermDegree (linear_term's bias is A_0, its weight
// the other A_k), zero at the start. The velocity of a Gaussian whose mean is linear in c is
// A(t) [x, c] exactly, with smooth coefficients that these polynomials follow closely; the network
// learns what is left. Polynomials, because A(t) from the network's own time embedding fitted the
// noise of t at 10^3 points, and cosines of t follow the coefficients only to O(1/K) (docs/conditional.md).
class ResidualMLP : public VelocityModel {
 public:
  static constexpr int64_t kLinearTermDegree = 8;
  ResidualMLP(int64_t data_dim, const ResidualMLPOptions& options);
  // {"name": "mlp", "data_dim": D, ...the options above by their names}, defaulting as above.
  static std::shared_ptr<VelocityModel> from_config(ModelConfig& config);
  at::Tensor forward(const at::Tensor& x, const at::Tensor& t) override;
  bool takes_interval() const override { return options_.interval; }
  using VelocityModel::forward_average;
  at::Tensor forward_average(const at::Tensor& x, const at::Tensor& s, const at::Tensor& t, const Condition& given) override;
  int64_t context_dim() const override { return options_.context_dim; }
  at::Tensor forward_context(const at::Tensor& x, const at::Tensor& t, const at::Tensor& context,
                             const at::Tensor& dropped = {}) override;
  nlohmann::json config() const override;
  std::vector<int64_t> sample_shape() const override { return {data_dim_}; }
  // The Fourier features, then per block its two layers and activations (and FiLM's scale and shift).
  double floats_per_row() const override {
    const double z = double(data_dim_ + options_.context_dim);  // the linear term's [x, m c], polynomials, A(t) and dL/dA
    return double(data_dim_ + 2 * options_.fourier_features) * 3 + double(options_.width) * double(6 * options_.depth + 8) +
           (options_.linear_term ? z + double(kLinearTermDegree) + 2 * double(data_dim_) * z : 0.0);
  }

 private:
  at::Tensor act(const at::Tensor& x) const;
  // The layers above, given h's time term and the context embedding (undefined without a context).
  at::Tensor network(const at::Tensor& x, const at::Tensor& time_features, const at::Tensor& context_features = {});
  // e for the rows of x: of `context` (rows `dropped` and an undefined context: "no context"), or
  // undefined for a model without a context; throws Error for a context such a model is given.
  at::Tensor context_features(const at::Tensor& x, const at::Tensor& context, const at::Tensor& dropped);
  // A(t) [x, m c] for the rows of x.
  at::Tensor linear_term(const at::Tensor& x, const at::Tensor& t, const at::Tensor& context, const at::Tensor& dropped);

  int64_t data_dim_;
  ResidualMLPOptions options_;
  at::Tensor frequencies_, fourier_basis_;
  torch::nn::Linear in_projection_{nullptr}, t_projection_{nullptr}, interval_projection_{nullptr}, out_projection_{nullptr};
  std::vector<std::pair<torch::nn::Linear, torch::nn::Linear>> blocks_;
  std::shared_ptr<ContextEmbedding> context_embedding_;
  std::vector<torch::nn::Linear> film_;  // film mode: one per block, e -> [gamma, beta]
  torch::nn::Linear linear_term_{nullptr};  // Chebyshev polynomials of t -> A(t), flattened
};

}  // namespace flowmatch
