// Divergences of fields whose Jacobian is known.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>

#include "flowmatch/core/error.h"
#include "flowmatch/ode/divergence.h"

namespace flowmatch {
namespace {

TEST(Divergence, ExactOfALinearFieldIsTheTrace) {
  at::Tensor a = torch::tensor({{1.5, 2.0, -1.0}, {0.3, -0.7, 4.0}, {2.0, 1.0, 0.25}}, torch::kDouble);
  at::Tensor x = torch::randn({5, 3}, torch::kDouble).requires_grad_(true);
  at::Tensor div = exact_divergence(torch::matmul(x, a.t()), x, false);  // v = A x, div v = tr A
  EXPECT_TRUE(torch::allclose(div, torch::full({5}, 1.05, torch::kDouble)));
}

// v_i = x_i^2 x_{i+1 mod D}: dv_i/dx_i = 2 x_i x_{i+1}, so div v = 2 sum_i x_i x_{i+1}.
TEST(Divergence, ExactOfANonlinearFieldPerPoint) {
  at::Tensor x = torch::randn({7, 4}, torch::kDouble).requires_grad_(true);
  at::Tensor next = torch::roll(x, -1, 1);
  at::Tensor div = exact_divergence(x.pow(2) * next, x, false);
  EXPECT_TRUE(torch::allclose(div, 2 * (x * next).sum(1)));
}

// Hutchinson's estimate is unbiased: over many probes it approaches the trace, within a few
// standard errors of the per-probe estimates.
TEST(Divergence, HutchinsonIsUnbiasedForBothProbes) {
  at::Tensor a = torch::tensor({{1.5, 2.0, -1.0}, {0.3, -0.7, 4.0}, {2.0, 1.0, 0.25}}, torch::kDouble);
  at::Tensor x = torch::randn({1, 3}, torch::kDouble).requires_grad_(true);
  at::Tensor v = torch::matmul(x, a.t());
  at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(5);
  for (const char* kind : {"rademacher", "gaussian"}) {
    at::Tensor probes = draw_probes(kind, 4000, 1, 3, gen, x.options());
    std::vector<double> single;
    for (int64_t k = 0; k < probes.size(0); ++k)
      single.push_back(hutchinson_divergence(v, x, probes.slice(0, k, k + 1), false).item<double>());
    at::Tensor estimates = torch::tensor(single, torch::kDouble);
    double mean = hutchinson_divergence(v, x, probes, false).item<double>();
    EXPECT_NEAR(mean, estimates.mean().item<double>(), 1e-9) << kind;
    double se = estimates.std().item<double>() / std::sqrt(4000.0);
    EXPECT_GT(se, 0.01) << kind;  // the off-diagonal entries make single probes noisy
    EXPECT_LT(std::abs(mean - 1.05), 4 * se) << kind;
  }
  EXPECT_THROW(draw_probes("uniform", 1, 1, 3, gen, x.options()), Error);
}

TEST(Divergence, RademacherProbesAreSigns) {
  at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(1);
  at::Tensor probes = draw_probes("rademacher", 3, 100, 2, gen, torch::dtype(torch::kFloat));
  EXPECT_TRUE((probes.abs() == 1).all().item<bool>());
  EXPECT_NEAR(probes.mean().item<double>(), 0.0, 0.15);
}

}  // namespace
}  // namespace flowmatch
