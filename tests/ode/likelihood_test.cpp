// Log-likelihoods against closed forms. Gaussian data N(mu, Sigma) under the CondOT path has an
// exact marginal velocity field, and the flow it defines carries N(0, I) to N(mu, Sigma), whose
// log-density is known everywhere.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>

#include "flowmatch/core/allocator.h"
#include "flowmatch/core/error.h"
#include "flowmatch/core/threads.h"
#include "flowmatch/data/point_data.h"
#include "flowmatch/data/toy_distributions.h"
#include "flowmatch/model/model_registry.h"
#include "flowmatch/ode/likelihood.h"
#include "flowmatch/train/trainer.h"
#include "ode/gaussian_flow_field.h"

namespace flowmatch {
namespace {
using testing::GaussianFlowField;

at::Tensor gaussian_points(int64_t n, uint64_t seed) {
  at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(seed);
  return sample_toy("gaussian", n, gen);
}

double max_error_against_truth(const at::Tensor& points, const at::Tensor& log_density) {
  return (log_density.to(torch::kDouble) - *toy_log_density("gaussian", points)).abs().max().item<double>();
}

TEST(Likelihood, MatchesTheGaussianLogDensityWithTheExactField) {
  GaussianFlowField field;
  at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(0);
  for (auto dtype : {torch::kFloat, torch::kDouble}) {
    at::Tensor x = gaussian_points(500, 1).to(dtype);
    torch::NoGradGuard no_grad;
    DensitySolution s = log_likelihood(field, x, LikelihoodOptions{}, gen);
    EXPECT_LT(max_error_against_truth(x, s.log_density), 1e-4) << dtype;
    EXPECT_EQ(s.log_density.scalar_type(), dtype);
    EXPECT_FALSE(s.log_density.requires_grad());
    // The other end is the noise that the flow carries to x: N(0, I) moments, roughly.
    EXPECT_LT(s.path.x.to(torch::kDouble).mean(0).abs().max().item<double>(), 0.15);
  }
}

// Forward, the error in log p adds to the error in the sample itself, so tolerances are tighter.
TEST(Likelihood, SamplingReturnsEachSamplesLogDensity) {
  GaussianFlowField field;
  at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(0);
  at::Tensor noise = torch::randn({500, 2}, gen, torch::kDouble);
  LikelihoodOptions options;
  options.solver.atol = options.solver.rtol = 1e-7;
  torch::NoGradGuard no_grad;
  DensitySolution s = sample_with_log_density(field, noise, options, gen);
  EXPECT_LT(max_error_against_truth(s.path.x, s.log_density), 1e-5);
  // The same points scored backwards give the same log-densities.
  DensitySolution back = log_likelihood(field, s.path.x, options, gen);
  EXPECT_LT((back.log_density - s.log_density).abs().max().item<double>(), 1e-5);
}

// The reported standard error of the Hutchinson NLL covers its difference from the exact NLL, and
// per point the difference has mean zero within its own standard error.
TEST(Likelihood, HutchinsonAgreesWithExactWithinItsStandardError) {
  GaussianFlowField field;
  at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(2);
  at::Tensor x = gaussian_points(2000, 3).to(torch::kDouble);
  torch::NoGradGuard no_grad;
  at::Tensor exact = log_likelihood(field, x, LikelihoodOptions{}, gen).log_density;
  for (auto [probe, probes] : {std::pair<std::string, int64_t>{"rademacher", 1}, {"gaussian", 2}}) {
    LikelihoodOptions options;
    options.divergence = "hutchinson";
    options.probe = probe;
    options.probes = probes;
    at::Tensor estimate = log_likelihood(field, x, options, gen).log_density;
    NllSummary reported = summarize_nll(estimate, 2);
    EXPECT_LT(std::abs(reported.nats - summarize_nll(exact, 2).nats), 3 * reported.nats_se) << probe;
    at::Tensor difference = estimate - exact;
    double spread = difference.std().item<double>();
    EXPECT_GT(spread, 1e-3) << probe << ": the estimator should be noisy per point";
    EXPECT_LT(std::abs(difference.mean().item<double>()), 3 * spread / std::sqrt(2000.0)) << probe;
  }
}

// Under grad mode log p is differentiable in the weights: the gradient of the mean log-likelihood
// matches central finite differences.
TEST(Likelihood, GradientMatchesFiniteDifferences) {
  torch::manual_seed(0);
  auto model = make_model({{"name", "mlp"}, {"data_dim", 2}, {"width", 16}, {"depth", 1}, {"fourier_features", 8}});
  model->to(torch::kDouble);
  at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(0);
  at::Tensor x = gaussian_points(16, 4).to(torch::kDouble);
  LikelihoodOptions options;
  options.solver.method = "rk4";
  options.solver.steps = 6;
  auto mean_log_density = [&] { return log_likelihood(*model, x, options, gen).log_density.mean(); };
  at::Tensor value = mean_log_density();
  ASSERT_TRUE(value.requires_grad());
  value.backward();
  int checked = 0;
  for (auto& p : model->parameters()) {
    at::Tensor flat = p.detach().view(-1);  // shares storage with p
    at::Tensor grad = p.grad().view(-1);
    for (int64_t i : {int64_t(0), flat.numel() / 2}) {
      double saved = flat[i].item<double>(), h = 1e-6;
      torch::NoGradGuard no_grad;
      flat[i] = saved + h;
      double up = mean_log_density().item<double>();
      flat[i] = saved - h;
      double down = mean_log_density().item<double>();
      flat[i] = saved;
      double numeric = (up - down) / (2 * h), analytic = grad[i].item<double>();
      EXPECT_NEAR(analytic, numeric, 1e-5 * std::max(1.0, std::abs(numeric))) << "parameter entry " << i;
      ++checked;
    }
  }
  EXPECT_GT(checked, 4);
}

// A short training of the default model on the Gaussian gives log-densities within 0.05 nats of
// the analytic ones on average.
TEST(Likelihood, TrainedModelLearnsTheGaussianLogDensity) {
  set_compute_threads(0);  // as the command line does: OpenBLAS on every core, torch's own pool off,
  keep_freed_memory();     // and freed memory kept for reuse
  torch::manual_seed(0);
  at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(0);
  PointData data("gaussian", 0, gen);
  TrainOptions options;
  options.steps = 1000;
  options.batch = 256;
  options.log_every = 1000;
  auto model = train_flow(make_model({{"name", "mlp"}, {"data_dim", 2}}), CoupledPairs(data), options, gen, "").model;
  at::Tensor x = gaussian_points(500, 6);
  torch::NoGradGuard no_grad;
  at::Tensor difference = log_likelihood(*model, x, LikelihoodOptions{}, gen).log_density.to(torch::kDouble) -
                          *toy_log_density("gaussian", x);
  EXPECT_LT(std::abs(difference.mean().item<double>()), 0.05);
  EXPECT_LT(difference.abs().mean().item<double>(), 0.1);
}

TEST(Likelihood, RejectsBadOptionsAndShapes) {
  GaussianFlowField field;
  at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(0);
  LikelihoodOptions options;
  options.divergence = "approximate";
  EXPECT_THROW(log_likelihood(field, torch::zeros({3, 2}), options, gen), Error);
  options = LikelihoodOptions{};
  options.probes = 0;
  options.divergence = "hutchinson";
  EXPECT_THROW(log_likelihood(field, torch::zeros({3, 2}), options, gen), Error);
  EXPECT_THROW(log_likelihood(field, torch::zeros({3, 3}), LikelihoodOptions{}, gen), Error);
  EXPECT_THROW(summarize_nll(torch::zeros({0}), 2), Error);
}

}  // namespace
}  // namespace flowmatch
