#pragma once
// A token model that knows its data exactly: 2-token sequences with probabilities P [V, V], and the
// path's true posterior of each position's data token given x_t, computed by enumeration. What
// discrete flow matching's loss, bound and sampler are checked against.
#include <torch/torch.h>

#include <string>

#include "flowmatch/model/velocity_model.h"
#include "flowmatch/ode/mixture_path.h"

namespace flowmatch::testing {

class TinyTokenModel : public VelocityModel {
 public:
  // probabilities [V, V] (row: the first token), summing to 1; kappa_t = t (condot).
  TinyTokenModel(at::Tensor probabilities, std::string source)
      : p_(probabilities.to(torch::kDouble)), source_(std::move(source)), v_(p_.size(0)) {}

  // log p(x1_i | x_t) for each position i: the posterior over pairs is
  //   P[a, b] * lik_0(a) * lik_1(b),  lik_i(a) = p(x_t_i | x1_i = a):
  //   mask source:    1 where x_t_i is the mask, else delta(a = x_t_i);
  //   uniform source: kappa delta(a = x_t_i) + (1 - kappa) / V.
  at::Tensor forward(const at::Tensor& x, const at::Tensor& t) override {
    at::Tensor kappa = t.to(torch::kDouble).unsqueeze(1);
    auto likelihood = [&](const at::Tensor& tokens) {  // [B, V]
      at::Tensor delta = torch::one_hot(tokens.clamp_max(v_ - 1), v_).to(torch::kDouble) * (tokens < v_).unsqueeze(1);
      if (source_ == "mask") return torch::where((tokens == v_).unsqueeze(1), torch::ones_like(delta), delta);
      return kappa * delta + (1 - kappa) / double(v_);
    };
    at::Tensor posterior = p_.unsqueeze(0) * likelihood(x.select(1, 0)).unsqueeze(2) * likelihood(x.select(1, 1)).unsqueeze(1);
    posterior = posterior / posterior.sum({1, 2}, true);
    return torch::stack({posterior.sum(2), posterior.sum(1)}, 1).log().to(torch::kFloat);
  }
  int64_t vocabulary() const override { return v_; }
  nlohmann::json config() const override { return {{"name", "tiny"}}; }
  std::vector<int64_t> sample_shape() const override { return {2}; }

 private:
  at::Tensor p_;
  std::string source_;
  int64_t v_;
};

// The mixture path with kappa_t = t.
inline MixturePath condot_mixture(const std::string& source, int64_t vocabulary) {
  return MixturePath([](const at::Tensor& t) { return std::pair{t, torch::ones_like(t)}; }, "condot", source, vocabulary);
}

// A small distribution over 3 x 3 pairs with dependent positions.
inline at::Tensor tiny_pair_probabilities() {
  return torch::tensor({{0.30, 0.05, 0.00}, {0.05, 0.10, 0.15}, {0.00, 0.15, 0.20}}, torch::kDouble);
}

}  // namespace flowmatch::testing
