#pragma once
// The exact marginal velocity field of the built-in gaussian N(mu, Sigma) under the CondOT path from
// N(0, I): a reference that no training stands between.
#include <torch/torch.h>

#include "flowmatch/data/toy_distributions.h"
#include "flowmatch/model/velocity_model.h"

namespace flowmatch::testing {

// x_t = t x1 + (1 - t) x0 ~ N(t mu, S_t) with S_t = t^2 Sigma + (1 - t)^2 I, and
// v(x, t) = E[x1 - x0 | x_t = x] = mu + (t Sigma - (1 - t) I) S_t^-1 (x - t mu).
class GaussianFlowField : public VelocityModel {
 public:
  at::Tensor forward(const at::Tensor& x, const at::Tensor& t) override {
    at::Tensor mu = toy_gaussian_mean().to(x.scalar_type()), sigma = toy_gaussian_covariance().to(x.scalar_type());
    at::Tensor times = t.to(x.scalar_type());
    const bool shared = (times == times[0]).all().item<bool>();  // a solver step: one gain for every row
    at::Tensor eye = torch::eye(2, x.options()), s = (shared ? times.slice(0, 0, 1) : times).view({-1, 1, 1});
    at::Tensor gain = torch::matmul(s * sigma - (1 - s) * eye, torch::inverse(s.pow(2) * sigma + (1 - s).pow(2) * eye));
    at::Tensor centred = x - times.view({-1, 1}) * mu;
    return mu + torch::matmul(gain, centred.unsqueeze(2)).squeeze(2);
  }
  nlohmann::json config() const override { return {{"name", "gaussian-flow-field"}}; }
  std::vector<int64_t> sample_shape() const override { return {2}; }
};

// The marginal p_t = N(t mu, S_t) at one time.
inline std::pair<at::Tensor, at::Tensor> gaussian_marginal(double t) {
  at::Tensor mu = toy_gaussian_mean().to(torch::kDouble), sigma = toy_gaussian_covariance().to(torch::kDouble);
  return {t * mu, t * t * sigma + (1 - t) * (1 - t) * torch::eye(2, torch::kDouble)};
}

}  // namespace flowmatch::testing
