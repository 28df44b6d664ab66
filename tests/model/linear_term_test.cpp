// The mlp's linear term, v += A(t) [x, c] with A(t) = A_0 + sum_k A_k T_k(2t - 1), against the
// closed form it is built for. x | c ~ N(M c, diag(s^2)) with M = (2, -1), s = (0.5, 1), drawn from
// N(0, I) along x_t = (1 - t) x0 + t x1, has per coordinate the velocity
//   v_i = mu_i + k_i(t) (x_i - t mu_i),  mu_i = M_i c,  k_i(t) = (t s_i^2 - (1 - t)) / ((1 - t)^2 + t^2 s_i^2),
// affine in (x, c) with smooth coefficients. Fitted to the polynomials by least squares, with the rest
// of the network silenced, the model's log p(x | c) is the closed form's.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>

#include "flowmatch/model/model_registry.h"
#include "flowmatch/model/residual_mlp.h"
#include "flowmatch/model/time_embedding.h"
#include "flowmatch/ode/likelihood.h"

namespace flowmatch {
namespace {

const double kMean[2] = {2.0, -1.0}, kStd[2] = {0.5, 1.0};

std::shared_ptr<VelocityModel> linear_term_model() {
  return make_model({{"name", "mlp"}, {"data_dim", 2}, {"context_dim", 1}, {"width", 16}, {"depth", 1}, {"linear_term", true}});
}

TEST(LinearTerm, StartsAtZero) {
  auto parameters = linear_term_model()->named_parameters();
  EXPECT_TRUE(parameters["linear_term.weight"].eq(0).all().item<bool>());
  EXPECT_TRUE(parameters["linear_term.bias"].eq(0).all().item<bool>());
  EXPECT_EQ(parameters["linear_term.weight"].sizes(), (std::vector<int64_t>{2 * 3, ResidualMLP::kLinearTermDegree}));
}

TEST(LinearTerm, AloneCarriesTheFlowOfAGaussianLinearInItsContext) {
  auto model = linear_term_model();
  const int64_t K = ResidualMLP::kLinearTermDegree;
  // A(t) on a grid, rows [x_0, x_1, c] per coordinate: k_i(t) on x_i, (1 - t k_i(t)) M_i on c.
  at::Tensor t = torch::linspace(0, 1, 2001, torch::kDouble), A = torch::zeros({2001, 2, 3}, torch::kDouble);
  for (int64_t i = 0; i < 2; ++i) {
    double s2 = kStd[i] * kStd[i];
    at::Tensor k = (t * s2 - (1 - t)) / ((1 - t).pow(2) + t.pow(2) * s2);
    A.select(1, i).select(1, i).copy_(k);
    A.select(1, i).select(1, 2).copy_((1 - t * k) * kMean[i]);
  }
  at::Tensor basis = torch::cat({torch::ones({2001, 1}, torch::kDouble), chebyshev_basis(t, K)}, 1);
  at::Tensor coefficients = std::get<0>(torch::linalg_lstsq(basis, A.reshape({2001, 6})));  // [1 + K, 6]
  // Polynomials of degree 8 follow these coefficients to 0.0055 (k_i runs from -1 to 1, (1 - t k_i) M_i from 2 to 0).
  EXPECT_LT((basis.matmul(coefficients) - A.reshape({2001, 6})).abs().max().item<double>(), 0.01);
  {
    torch::NoGradGuard no_grad;
    auto parameters = model->named_parameters();
    parameters["linear_term.bias"].copy_(coefficients[0]);
    parameters["linear_term.weight"].copy_(coefficients.slice(0, 1).t());
    parameters["out_projection.weight"].zero_();
    parameters["out_projection.bias"].zero_();
  }
  at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(3);
  at::Tensor c = torch::randn({400, 1}, gen);
  at::Tensor mean = torch::cat({kMean[0] * c, kMean[1] * c}, 1), std = torch::tensor({float(kStd[0]), float(kStd[1])});
  at::Tensor x = mean + torch::randn({400, 2}, gen) * std;
  at::Tensor log_p = (-0.5 * ((x - mean) / std).pow(2).sum(1) - std.log().sum() - std::log(2 * M_PI)).to(torch::kDouble);
  LikelihoodOptions options;
  options.solver.atol = options.solver.rtol = 1e-7;
  at::Tensor log_q = log_likelihood(*model, x, options, gen, Guidance{{}, 1.0, c}).log_density.to(torch::kDouble);
  EXPECT_LT((log_q - log_p).abs().max().item<double>(), 1e-3);  // measured: 3e-5
}

}  // namespace
}  // namespace flowmatch
