#include "flowmatch/data/standardization.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "flowmatch/core/error.h"

namespace flowmatch {
namespace {

TEST(Standardization, ZScoresAndRoundTripsThroughItsJson) {
  at::Tensor x = torch::randn({1000, 3}, torch::kDouble) * torch::tensor({2.0, 0.5, 1.0}, torch::kDouble) + 4;
  x.select(1, 2).fill_(7);  // a constant column keeps std 1
  Standardization s = Standardization::fit(x);
  at::Tensor z = s.apply(x);
  EXPECT_TRUE(torch::allclose(z.mean(0), torch::zeros({3}, torch::kDouble), 1e-9, 1e-9));
  EXPECT_NEAR(z.select(1, 0).std().item<double>(), 1.0, 1e-9);
  EXPECT_DOUBLE_EQ(s.std[2].item<double>(), 1.0);
  Standardization back = Standardization::from_json(s.to_json(), "test");
  EXPECT_TRUE(torch::allclose(back.undo(z), x, 1e-12, 1e-12));
  // log |dz/dx| = -sum log std: the density of z = (x - m) / s is s times that of x.
  EXPECT_NEAR(s.log_jacobian(), -(std::log(s.std[0].item<double>()) + std::log(s.std[1].item<double>())), 1e-12);
}

// ||(x - mean) / std|| per row: fitted on (0, 0) and (2, 4), mean (1, 2) and std (sqrt 2, 2 sqrt 2), so
// (3, 6) has the z-score (sqrt 2, sqrt 2) and the norm 2, and the mean the norm 0.
TEST(Standardization, NormsAreThoseOfTheZScores) {
  Standardization s = Standardization::fit(torch::tensor({0.0, 0.0, 2.0, 4.0}, torch::kDouble).reshape({2, 2}));
  at::Tensor norms = s.norms(torch::tensor({3.0f, 6.0f, 1.0f, 2.0f}).reshape({2, 2}));
  ASSERT_EQ(norms.scalar_type(), torch::kDouble);
  EXPECT_NEAR(norms[0].item<double>(), 2.0, 1e-6);
  EXPECT_NEAR(norms[1].item<double>(), 0.0, 1e-12);
}

TEST(Standardization, RefusesMalformedJson) {
  EXPECT_THROW(Standardization::from_json("{", "x"), Error);
  EXPECT_THROW(Standardization::from_json(R"({"mean": [1], "std": [0]})", "x"), Error);
  EXPECT_THROW(Standardization::from_json(R"({"mean": [1, 2], "std": [1]})", "x"), Error);
}

}  // namespace
}  // namespace flowmatch
