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

TEST(Standardization, RefusesMalformedJson) {
  EXPECT_THROW(Standardization::from_json("{", "x"), Error);
  EXPECT_THROW(Standardization::from_json(R"({"mean": [1], "std": [0]})", "x"), Error);
  EXPECT_THROW(Standardization::from_json(R"({"mean": [1, 2], "std": [1]})", "x"), Error);
}

}  // namespace
}  // namespace flowmatch
