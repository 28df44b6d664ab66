#include "flowmatch/metrics/c2st.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "flowmatch/core/error.h"
#include "flowmatch/core/threads.h"

namespace flowmatch {
namespace {

TEST(C2st, TwoSamplesOfOneDistributionScoreAboutOneHalf) {
  torch::manual_seed(0);
  at::Tensor a = torch::randn({3000, 3}), b = torch::randn({3000, 3});
  EXPECT_NEAR(c2st(a, b), 0.5, 0.03);
}

TEST(C2st, ClearlyDifferentDistributionsScoreNearOne) {
  torch::manual_seed(1);
  at::Tensor a = torch::randn({3000, 2}), b = torch::randn({3000, 2}) * 0.2 + torch::tensor({2.5f, 0.0f});
  EXPECT_GT(c2st(a, b), 0.97);
}

TEST(C2st, DoesNotDependOnTheThreadCount) {
  torch::manual_seed(2);
  at::Tensor a = torch::randn({1000, 2}), b = torch::randn({1000, 2}) + 0.5;
  const int before = at::get_num_threads();
  set_compute_threads(1);  // the folds one after another
  double one = c2st(a, b);
  set_compute_threads(2);  // two at once
  double two = c2st(a, b);
  at::set_num_threads(before);
  EXPECT_EQ(one, two);
}

TEST(C2st, RefusesMismatchedOrNonFiniteSets) {
  EXPECT_THROW(c2st(torch::zeros({10, 2}), torch::zeros({10, 3})), Error);
  at::Tensor bad = torch::zeros({10, 2});
  bad[0][0] = NAN;
  EXPECT_THROW(c2st(torch::randn({10, 2}), bad), Error);
}

}  // namespace
}  // namespace flowmatch
