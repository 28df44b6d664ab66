// Stochastic sampling against the closed form: Gaussian data under the CondOT path, whose marginal
// p_t = N(t mu, t^2 Sigma + (1 - t)^2 I) and exact velocity field are known (gaussian_flow_field.h).
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "flowmatch/ode/likelihood.h"
#include "flowmatch/ode/sampling.h"
#include "flowmatch/ode/stochastic_sampler.h"
#include "ode/condot_path.h"
#include "ode/gaussian_flow_field.h"
#include "test_util.h"

namespace flowmatch {
namespace {

using testing::kCondOT;

// Draws n points of N(mean, cov) in float64.
at::Tensor draw_gaussian(const std::pair<at::Tensor, at::Tensor>& moments, int64_t n, at::Generator& gen) {
  at::Tensor root = torch::linalg_cholesky(moments.second);
  return moments.first + torch::matmul(torch::randn({n, 2}, gen, torch::kDouble), root.t());
}

// max |m - mean| / |mean| and |C - cov|_F / |cov|_F of the points against the moments.
std::pair<double, double> relative_errors(const at::Tensor& x, const std::pair<at::Tensor, at::Tensor>& moments) {
  at::Tensor m = x.mean(0), centred = x - m, c = torch::matmul(centred.t(), centred) / double(x.size(0) - 1);
  return {((m - moments.first).norm() / moments.first.norm()).item<double>(),
          ((c - moments.second).norm() / moments.second.norm()).item<double>()};
}

TEST(StochasticSampler, MovingBackTurnsOneMarginalIntoTheEarlierOne) {
  at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(3);
  const double t = 0.6, t_next = 0.8, noise_scale = 1.5;
  at::Tensor x = draw_gaussian(testing::gaussian_marginal(t), 200000, gen);
  auto [moved, back] = renoising_step_start(kCondOT, noise_scale, gen)(x, t, t_next);
  EXPECT_LT(back, t);
  EXPECT_GT(back, 0.0);
  auto [mean_error, cov_error] = relative_errors(moved, testing::gaussian_marginal(back));
  EXPECT_LT(mean_error, 0.01);
  EXPECT_LT(cov_error, 0.01);
  // The added variance is the SDE's over the step, g^2 h = 2 G sigma_t h; for CondOT, t^ = t (1 - G h)
  // to first order in h.
  const double h = 1e-4;
  EXPECT_NEAR(renoised_time(kCondOT, 0.5, 2 * noise_scale * 0.5 * h), 0.5 * (1 - noise_scale * h), 1e-6);
  EXPECT_EQ(renoised_time(kCondOT, 0.5, 0.0), 0.5);
  EXPECT_EQ(renoised_time(kCondOT, 0.5, 5.0), 0.0);  // more than the path's whole variance: fresh noise
}

// At 100 steps the second-order solvers keep the moments within 2 %; euler's first-order drift
// misses the covariance by 2 % already without noise (docs/sampling.md).
TEST(StochasticSampler, KeepsTheGaussianMomentsAtEveryNoiseScale) {
  testing::GaussianFlowField field;
  const auto truth = testing::gaussian_marginal(1.0);
  for (const std::string method : {"midpoint", "heun"}) {
    for (double noise_scale : {0.0, 0.5, 1.0, 3.0}) {
      at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(7);
      SolverOptions options;
      options.method = method;
      options.steps = 100;
      options.noise_scale = noise_scale;
      at::Tensor noise = torch::randn({20000, 2}, gen, torch::kDouble);
      at::Tensor x = generate(field, noise, options, {}, PathNoise{kCondOT, &gen}).x;
      auto [mean_error, cov_error] = relative_errors(x, truth);
      EXPECT_LT(mean_error, 0.02) << method << " G " << noise_scale;
      EXPECT_LT(cov_error, 0.02) << method << " G " << noise_scale;
    }
  }
}

// On CondOT a step from t restarts when 2 G (1 - t) h >= sigma_0^2 = 1. G = 30: with 8 uniform
// steps (h = 1/8) that is t <= 13/15, the steps from 1/8 .. 6/8; with 50 (h = 1/50), t <= 1/6,
// the steps from 1/50 .. 8/50.
TEST(StochasticSampler, CountsTheStepsThatRestartFromNoise) {
  auto uniform = [](int64_t steps) {
    std::vector<double> t;
    for (int64_t i = 0; i <= steps; ++i) t.push_back(double(i) / double(steps));
    return t;
  };
  EXPECT_EQ(restarting_steps(kCondOT, 30, uniform(8)), 6);
  EXPECT_EQ(restarting_steps(kCondOT, 30, uniform(50)), 8);
  EXPECT_EQ(restarting_steps(kCondOT, 0.5, uniform(8)), 0);
}

TEST(StochasticSampler, RefusesWhatCannotBeSampledStochastically) {
  testing::GaussianFlowField field;
  SolverOptions options;
  options.method = "euler";
  options.noise_scale = 1;
  at::Tensor noise = torch::randn({4, 2}, torch::kDouble);
  EXPECT_NE(testing::error_of([&] { generate(field, noise, options); }).find("needs the model's path"), std::string::npos);
  options.method = "dopri5";
  EXPECT_NE(testing::error_of([&] { options.validate(); }).find("fixed-grid solvers"), std::string::npos);
  options.method = "euler";
  options.noise_scale = -1;
  EXPECT_NE(testing::error_of([&] { options.validate(); }).find(">= 0"), std::string::npos);
  LikelihoodOptions density;
  density.solver.method = "euler";
  density.solver.noise_scale = 0.5;
  EXPECT_NE(testing::error_of([&] { density.validate(); }).find("log-densities follow the ODE"), std::string::npos);
}

}  // namespace
}  // namespace flowmatch
