// The benchmark tasks' simulators against their closed-form moments, and each exact posterior
// sampler against importance sampling from the prior with the exact likelihood (a long run of a
// different method), or against its closed form.
#include "flowmatch/data/sbi_tasks.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>

#include "flowmatch/core/error.h"
#include "flowmatch/data/sbi_posteriors.h"

namespace flowmatch {
namespace {

// E[f(theta) | x_o] from prior draws weighted by the likelihood, w = exp(log_likelihood - max).
at::Tensor weighted_mean(const at::Tensor& f, const at::Tensor& log_likelihood) {
  at::Tensor w = (log_likelihood - log_likelihood.max()).exp();
  return (f * w.unsqueeze(1)).sum(0) / w.sum();
}

// Effective sample size of those weights.
double effective_size(const at::Tensor& log_likelihood) {
  at::Tensor w = (log_likelihood - log_likelihood.max()).exp();
  return (w.sum().pow(2) / w.pow(2).sum()).item<double>();
}

void expect_close(const at::Tensor& a, const at::Tensor& b, double tolerance, const std::string& what) {
  EXPECT_LT((a - b).abs().max().item<double>(), tolerance) << what << "\n" << a << "\n" << b;
}

TEST(SbiTasks, GaussianLinearMomentsAndPosterior) {
  auto task = make_sbi_task("gaussian-linear");
  at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(1);
  at::Tensor x = task->simulate(task->prior(200000, gen), gen);
  EXPECT_LT(x.mean(0).abs().max().item<double>(), 0.01);
  expect_close(x.var(0), torch::full({10}, 0.2, torch::kDouble), 0.005, "x variance 0.1 + 0.1");
  at::Tensor x_o = torch::linspace(-0.5, 0.5, 10, torch::kDouble);
  at::Tensor post = task->posterior(x_o, 200000, gen);
  expect_close(post.mean(0), x_o / 2, 0.003, "posterior mean x_o / 2");
  expect_close(post.var(0), torch::full({10}, 0.05, torch::kDouble), 0.002, "posterior variance 0.05");
}

// two-moons' likelihood: the crescent's density at p = x - f(theta), in polar coordinates around
// (0.25, 0): (1 / pi) N(r; 0.1, 0.01^2) / r for angles in (-pi/2, pi/2).
at::Tensor two_moons_log_likelihood(const at::Tensor& theta, const at::Tensor& x_o) {
  at::Tensor t1 = theta.select(1, 0), t2 = theta.select(1, 1);
  at::Tensor p0 = x_o[0] + (t1 + t2).abs() / std::sqrt(2.0) - 0.25, p1 = x_o[1] - (t2 - t1) / std::sqrt(2.0);
  at::Tensor r = (p0 * p0 + p1 * p1).sqrt();
  at::Tensor log_density = -0.5 * ((r - 0.1) / 0.01).pow(2) - r.log();
  return torch::where(p0 > 0, log_density, torch::full({1}, -INFINITY, torch::kDouble));
}

TEST(SbiTasks, TwoMoonsPosteriorMatchesImportanceSampling) {
  auto task = make_sbi_task("two-moons");
  at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(2);
  at::Tensor x_o = task->simulate(torch::tensor({{0.3, -0.2}}, torch::kDouble), gen)[0];
  at::Tensor prior = task->prior(2000000, gen);
  at::Tensor log_l = two_moons_log_likelihood(prior, x_o);
  ASSERT_GT(effective_size(log_l), 2000);
  at::Tensor post = task->posterior(x_o, 100000, gen);
  EXPECT_TRUE(task->in_support(post).all().item<bool>());
  auto moments = [](const at::Tensor& t) { return torch::cat({t, t * t, t.prod(1, true)}, 1); };
  expect_close(moments(post).mean(0), weighted_mean(moments(prior), log_l), 0.02, "two-moons moments");
}

TEST(SbiTasks, GaussianMixturePosteriorIsTheMixtureAroundTheObservation) {
  auto task = make_sbi_task("gaussian-mixture");
  at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(3);
  at::Tensor post = task->posterior(torch::tensor({1.0, -2.0}, torch::kDouble), 200000, gen);
  expect_close(post.mean(0), torch::tensor({1.0, -2.0}, torch::kDouble), 0.01, "mean x_o");
  expect_close(post.var(0), torch::full({2}, 0.505, torch::kDouble), 0.01, "variance (1 + 0.01) / 2");
  // Near the prior's edge, samples are cut to the box.
  EXPECT_TRUE(task->in_support(task->posterior(torch::tensor({9.8, 0.0}, torch::kDouble), 1000, gen)).all().item<bool>());
}

// slcp's log-likelihood: 4 draws from N(m, S), with S's 2 x 2 algebra written out.
at::Tensor slcp_log_likelihood(const at::Tensor& theta, const at::Tensor& x_o) {
  at::Tensor cov = slcp_covariance(theta);
  at::Tensor a = cov.select(2, 0).select(1, 0), b = cov.select(2, 1).select(1, 0), c = cov.select(2, 1).select(1, 1);
  at::Tensor det = a * c - b * b;
  at::Tensor total = torch::zeros({theta.size(0)}, torch::kDouble);
  for (int j = 0; j < 4; ++j) {
    at::Tensor d0 = x_o[2 * j] - theta.select(1, 0), d1 = x_o[2 * j + 1] - theta.select(1, 1);
    total += -0.5 * (c * d0 * d0 - 2 * b * d0 * d1 + a * d1 * d1) / det - 0.5 * det.log();
  }
  return total;
}

TEST(SbiTasks, SlcpSimulatorHasItsCovarianceAndPosteriorMatchesImportanceSampling) {
  auto task = make_sbi_task("slcp");
  at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(4);
  at::Tensor theta = torch::tensor({{0.5, -0.5, 1.3, -1.1, 0.4}}, torch::kDouble);
  at::Tensor x = task->simulate(theta.expand({100000, 5}), gen).reshape({400000, 2});
  expect_close(torch::cov(x.t()), slcp_covariance(theta)[0], 0.05, "slcp covariance");

  at::Tensor x_o = task->simulate(theta, gen)[0];
  at::Tensor prior = task->prior(4000000, gen);
  at::Tensor log_l = slcp_log_likelihood(prior, x_o);
  ASSERT_GT(effective_size(log_l), 2000);
  at::Tensor post = task->posterior(x_o, 100000, gen);
  EXPECT_TRUE(task->in_support(post).all().item<bool>());
  // The posterior is symmetric in the signs of theta3 and theta4: compare their magnitudes.
  auto features = [](const at::Tensor& t) {
    at::Tensor folded = torch::cat({t.slice(1, 0, 2), t.slice(1, 2, 4).abs(), t.slice(1, 4, 5)}, 1);
    return torch::cat({folded, folded * folded}, 1);
  };
  expect_close(features(post).mean(0), weighted_mean(features(prior), log_l), 0.06, "slcp moments");
}

TEST(SbiTasks, UnknownTaskAndBadObservationAreRefused) {
  EXPECT_THROW(make_sbi_task("three-moons"), Error);
  at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(5);
  EXPECT_THROW(make_sbi_task("slcp")->posterior(torch::zeros({3}, torch::kDouble), 10, gen), Error);
}

}  // namespace
}  // namespace flowmatch
