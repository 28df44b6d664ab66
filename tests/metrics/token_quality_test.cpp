#include "flowmatch/metrics/token_quality.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "flowmatch/data/token_data.h"
#include "test_util.h"

namespace flowmatch {
namespace {

TEST(TokenQuality, TotalVariationOfHistogramsAndTheFloorOfExactSamples) {
  at::Tensor pairs = torch::tensor({{0, 1}, {0, 1}, {1, 1}, {3, 2}}, torch::kLong);
  at::Tensor histogram = pair_histogram(pairs, 4);
  EXPECT_DOUBLE_EQ(histogram[0][1].item<double>(), 0.5);
  EXPECT_DOUBLE_EQ(histogram.sum().item<double>(), 1.0);
  EXPECT_DOUBLE_EQ(total_variation(torch::tensor({0.5, 0.5, 0.0}), torch::tensor({0.25, 0.25, 0.5})), 0.5);
  EXPECT_EQ(testing::error_of([&] { pair_histogram(pairs, 3); }), "the token pairs must lie in 0 .. 2 (--bins 3)");

  // Exact samples sit on the cells, and 100 000 of them are about 0.11 from the exact distribution
  // at 128 bins (8192 bins of 12.2 expected draws each: E|n - 12.2| / 12.2 / 2 summed).
  at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(8);
  CheckerboardTokenScore exact = score_checkerboard_tokens(discrete_checkerboard(100000, 128, gen), 128, gen);
  EXPECT_DOUBLE_EQ(exact.on_cell_fraction, 1.0);
  EXPECT_NEAR(exact.tv, 0.112, 0.004);
  EXPECT_NEAR(exact.exact_tv, exact.tv, 0.004);
  // Uniform noise over the whole board: half off the cells, TV 1/2 and more.
  CheckerboardTokenScore noise = score_checkerboard_tokens(torch::randint(0, 128, {100000, 2}, gen, torch::kLong), 128, gen);
  EXPECT_NEAR(noise.on_cell_fraction, 0.5, 0.01);
  EXPECT_GT(noise.tv, 0.5);
}

TEST(TokenQuality, SharesOfDistinctSamplesAndOfSamplesFoundInASet) {
  std::vector<std::string> samples{"cat", "cat", "dog", "emu"};
  EXPECT_DOUBLE_EQ(distinct_share(samples), 0.75);
  EXPECT_DOUBLE_EQ(share_found_in(samples, {"cat", "cow"}), 0.5);
  EXPECT_EQ(testing::error_of([] { distinct_share({}); }), "no samples to score");
}

}  // namespace
}  // namespace flowmatch
