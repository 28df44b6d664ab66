#include <gtest/gtest.h>
#include <torch/torch.h>

#include "flowmatch/core/error.h"
#include "flowmatch/objective/flow_matching.h"
#include "flowmatch/objective/time_sampler.h"

namespace flowmatch {
namespace {

// With all data at one point c, every CondOT path through x_t heads for c, so the conditional
// target equals the marginal velocity (c - x_t) / (1 - t) and that field has zero loss.
TEST(CfmLoss, ClosedFormFieldOfPointDataHasZeroLoss) {
  auto scheduler = make_scheduler("condot");
  at::Tensor c = torch::tensor({{1.5, -2.0}}, torch::kDouble);
  at::Tensor x1 = c.expand({64, 2});
  at::Tensor x0 = torch::randn({64, 2}, torch::kDouble);
  at::Tensor t = torch::rand({64}, torch::kDouble) * 0.98;
  VelocityModelFn exact = [&](const at::Tensor& x, const at::Tensor& tt) { return (c - x) / (1 - tt.unsqueeze(1)); };
  EXPECT_LT(cfm_loss(exact, *scheduler, x0, x1, t).item<double>(), 1e-20);
  VelocityModelFn zero = [](const at::Tensor& x, const at::Tensor&) { return torch::zeros_like(x); };
  // The zero field's loss is the mean square of x1 - x0.
  EXPECT_NEAR(cfm_loss(zero, *scheduler, x0, x1, t).item<double>(), (x1 - x0).pow(2).mean().item<double>(), 1e-12);
}

TEST(TimeSampler, UniformAndLogitNormalStayInRange) {
  at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(3);
  TimeSampler uniform;
  at::Tensor u = uniform(100000, gen);
  EXPECT_GE(u.min().item<double>(), 0.0);
  EXPECT_LT(u.max().item<double>(), 1.0);
  EXPECT_NEAR(u.mean().item<double>(), 0.5, 0.01);
  TimeSampler logit{"logit-normal", 1.0, 0.5};
  at::Tensor l = logit(100000, gen);
  // logit(t) = mean + std z, so the logits' moments are (1.0, 0.5).
  at::Tensor logits = torch::log(l / (1 - l));
  EXPECT_NEAR(logits.mean().item<double>(), 1.0, 0.01);
  EXPECT_NEAR(logits.std().item<double>(), 0.5, 0.01);
  EXPECT_THROW((TimeSampler{"beta", 0, 1}.validate()), Error);
}

}  // namespace
}  // namespace flowmatch
