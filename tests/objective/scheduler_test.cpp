#include <gtest/gtest.h>
#include <torch/torch.h>

#include "flowmatch/core/error.h"
#include "flowmatch/objective/scheduler.h"

namespace flowmatch {
namespace {

// Central differences of alpha and sigma agree with the scheduler's own derivatives.
TEST(Scheduler, DerivativesMatchFiniteDifferences) {
  const double h = 1e-6;
  at::Tensor t = torch::linspace(0.05, 0.95, 19, torch::kDouble);
  for (const auto& name : scheduler_names()) {
    for (double n : {2.0, 3.5}) {
      auto scheduler = make_scheduler(name, n);
      SchedulerValues s = (*scheduler)(t), up = (*scheduler)(t + h), down = (*scheduler)(t - h);
      at::Tensor fd_alpha = (up.alpha - down.alpha) / (2 * h), fd_sigma = (up.sigma - down.sigma) / (2 * h);
      EXPECT_TRUE(torch::allclose(s.d_alpha, fd_alpha, 1e-5, 1e-5)) << name;
      EXPECT_TRUE(torch::allclose(s.d_sigma, fd_sigma, 1e-5, 1e-5)) << name;
    }
  }
}

// Every path runs from noise at t = 0 to data at t = 1.
TEST(Scheduler, EndpointsAreNoiseAndData) {
  at::Tensor ends = torch::tensor({0.0, 1.0}, torch::kDouble);
  for (const auto& name : scheduler_names()) {
    SchedulerValues s = (*make_scheduler(name))(ends);
    EXPECT_NEAR(s.alpha[1].item<double>(), 1.0, 1e-12) << name;
    EXPECT_NEAR(s.sigma[1].item<double>(), 0.0, 1e-5) << name;
    EXPECT_NEAR(s.sigma[0].item<double>(), 1.0, 1e-4) << name;
    EXPECT_LT(s.alpha[0].item<double>(), 0.01) << name;  // vp leaves exp(-5.025) of data at t = 0
  }
}

TEST(Scheduler, CondOTTargetIsDataMinusNoise) {
  SchedulerValues s = (*make_scheduler("condot"))(torch::rand({7}, torch::kDouble));
  EXPECT_TRUE(torch::allclose(s.alpha + s.sigma, torch::ones({7}, torch::kDouble)));
  EXPECT_TRUE(torch::all(s.d_alpha == 1).item<bool>());
  EXPECT_TRUE(torch::all(s.d_sigma == -1).item<bool>());
}

TEST(Scheduler, UnknownNameIsAnError) {
  EXPECT_THROW(make_scheduler("linear"), Error);
  EXPECT_THROW(make_scheduler("poly", -1.0), Error);
}

}  // namespace
}  // namespace flowmatch
