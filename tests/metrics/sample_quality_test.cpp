#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>

#include "flowmatch/metrics/sample_quality.h"
#include "flowmatch/metrics/straightness.h"

namespace flowmatch {
namespace {

// The energy distance written out pair by pair, for small sets.
double brute_force_energy_distance(const at::Tensor& a, const at::Tensor& b) {
  auto mean_distance = [](const at::Tensor& x, const at::Tensor& y, bool distinct) {
    double sum = 0;
    int64_t count = 0;
    for (int64_t i = 0; i < x.size(0); ++i)
      for (int64_t j = 0; j < y.size(0); ++j) {
        if (distinct && i == j) continue;
        sum += (x[i] - y[j]).norm().item<double>();
        ++count;
      }
    return sum / double(count);
  };
  return 2 * mean_distance(a, b, false) - mean_distance(a, a, true) - mean_distance(b, b, true);
}

TEST(EnergyDistance, MatchesThePairwiseDefinition) {
  at::Tensor a = torch::randn({40, 3}, torch::kDouble), b = torch::randn({25, 3}, torch::kDouble) + 0.5;
  EXPECT_NEAR(energy_distance(a, b), brute_force_energy_distance(a, b), 1e-9);
}

TEST(EnergyDistance, NearZeroForOneDistributionAndGrowsWithShift) {
  at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(0);
  at::Tensor a = torch::randn({3000, 2}, gen), b = torch::randn({3000, 2}, gen);
  double same = energy_distance(a, b);
  EXPECT_LT(std::abs(same), 0.005);
  double small = energy_distance(a, b + 0.3), large = energy_distance(a, b + 1.0);
  EXPECT_GT(small, 10 * std::abs(same));
  EXPECT_GT(large, 3 * small);
}

// For b = a + mu, each projection differs by exactly theta . mu, so SW2^2 -> E[(theta . mu)^2] = |mu|^2 / D.
TEST(SlicedWasserstein, PureShiftHasClosedForm) {
  at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(0);
  at::Tensor a = torch::randn({500, 4}, gen);
  at::Tensor mu = torch::tensor({1.0f, -2.0f, 0.5f, 2.0f});
  double expected = std::sqrt(mu.pow(2).sum().item<double>() / 4);
  EXPECT_NEAR(sliced_wasserstein2(a, a + mu, 20000, gen), expected, 0.02 * expected);
  EXPECT_NEAR(sliced_wasserstein2(a, a, 64, gen), 0.0, 1e-12);
}

TEST(PathGeometry, ZeroForAConstantField) {
  VelocityFn constant = [](const at::Tensor& x, double) { return torch::ones_like(x) * 3; };
  PathGeometry geometry = path_geometry(constant, torch::randn({50, 2}, torch::kDouble), 20);
  EXPECT_NEAR(geometry.straightness, 0.0, 1e-20);
  EXPECT_NEAR(geometry.curvature, 0.0, 1e-12);
}

// v = -x: paths x0 e^{-t}, so in the limit of fine steps S = |x0|^2 * integral_0^1 (e^{-1} - 1 + e^{-t})^2 dt,
// and C = |x0| * integral_0^1 |x_t + (1 - t) v_t - x1| / |x0| dt = |x0| * integral_0^1 (e^{-1} - t e^{-t}) dt
// = |x0| (3/e - 1).
TEST(PathGeometry, MatchesClosedFormForAnExponentialField) {
  VelocityFn decay = [](const at::Tensor& x, double) { return -x; };
  at::Tensor x0 = torch::tensor({{3.0, 4.0}}, torch::kDouble);
  double a = std::exp(-1.0) - 1;
  double integral = a * a + 2 * a * (1 - std::exp(-1.0)) + (1 - std::exp(-2.0)) / 2;
  PathGeometry geometry = path_geometry(decay, x0, 2000);
  EXPECT_NEAR(geometry.straightness, 25.0 * integral, 25.0 * integral * 0.01);
  double curvature = 5.0 * (3 * std::exp(-1.0) - 1);
  EXPECT_NEAR(geometry.curvature, curvature, curvature * 0.01);
}

// Between N(m_a, diag(s_a^2)) and N(m_b, diag(s_b^2)) the distance is |m_a - m_b|^2 + sum (s_a - s_b)^2.
TEST(FrechetDistance, MatchesTheClosedFormForGaussians) {
  at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(11);
  at::Tensor a = torch::randn({200000, 3}, gen, torch::kDouble) * torch::tensor({1.0, 2.0, 0.5}, torch::kDouble);
  at::Tensor b = torch::randn({200000, 3}, gen, torch::kDouble) * torch::tensor({2.0, 1.0, 0.5}, torch::kDouble) +
                 torch::tensor({1.0, 0.0, -1.0}, torch::kDouble);
  EXPECT_NEAR(frechet_distance(a, b), 2.0 + 1.0 + 1.0, 0.05);
  EXPECT_NEAR(frechet_distance(a, a), 0.0, 1e-9);
  // Covariances that do not commute: S = diag(9, 1) against S' = R S R^T for a rotation R. For 2 x 2
  // matrices Tr(M^1/2) = sqrt(Tr M + 2 sqrt(det M)), so Tr((S^1/2 S' S^1/2)^1/2) = sqrt(Tr(S S') + 2 sqrt(det S det S')):
  // here sqrt(41.04 + 18), and FD = 10 + 10 - 2 sqrt(59.04).
  at::Tensor c = torch::randn({200000, 2}, gen, torch::kDouble) * torch::tensor({3.0, 1.0}, torch::kDouble);
  at::Tensor d = torch::randn({200000, 2}, gen, torch::kDouble) * torch::tensor({3.0, 1.0}, torch::kDouble);
  at::Tensor rotation_t = torch::tensor({{0.6, 0.8}, {-0.8, 0.6}}, torch::kDouble);  // rows of R^T
  EXPECT_NEAR(frechet_distance(c, torch::matmul(d, rotation_t)), 20.0 - 2 * std::sqrt(59.04), 0.1);
}

}  // namespace
}  // namespace flowmatch
