#include <gtest/gtest.h>
#include <torch/torch.h>

#include "flowmatch/core/error.h"
#include "flowmatch/data/toy_distributions.h"
#include "flowmatch/metrics/checkerboard_score.h"

namespace flowmatch {
namespace {

TEST(ToyDistributions, CheckerboardIsUniformOnTheEightOnCells) {
  at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(0);
  at::Tensor p = sample_toy("checkerboard", 80000, gen);
  CheckerboardScore score = checkerboard_score(p);
  EXPECT_EQ(score.on_cell_fraction, 1.0);
  for (int64_t count : score.cell_counts) EXPECT_NEAR(double(count), 10000.0, 400.0);
  EXPECT_GT(score.evenness, 0.999);
  // Uniform inside each cell: the offset within a 2x2 cell has mean 1 and variance 4/12.
  at::Tensor offset = (p + 4).remainder(2);
  EXPECT_NEAR(offset.mean().item<double>(), 1.0, 0.01);
  EXPECT_NEAR(offset.var().item<double>(), 1.0 / 3.0, 0.01);
  // The seed's convention: the cell in column 0, row 1 ([-4, -2] x [-2, 0]) is on; column 0, row 0 is off.
  EXPECT_GT(((p.select(1, 0) < -2) & (p.select(1, 1) > -2) & (p.select(1, 1) < 0)).sum().item<int64_t>(), 0);
  EXPECT_EQ(((p.select(1, 0) < -2) & (p.select(1, 1) < -2)).sum().item<int64_t>(), 0);
}

TEST(ToyDistributions, GaussianHasItsMoments) {
  at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(0);
  at::Tensor p = sample_toy("gaussian", 200000, gen).to(torch::kDouble);
  at::Tensor mean = p.mean(0);
  at::Tensor centred = p - mean;
  at::Tensor cov = torch::matmul(centred.t(), centred) / double(p.size(0) - 1);
  EXPECT_TRUE(torch::allclose(mean, toy_gaussian_mean().to(torch::kDouble), 0, 0.01));
  EXPECT_TRUE(torch::allclose(cov, toy_gaussian_covariance().to(torch::kDouble), 0, 0.01));
}

TEST(ToyDistributions, EveryBuiltInIsTwoDimensionalFiniteAndSeeded) {
  for (const auto& name : toy_distribution_names()) {
    at::Generator a = at::make_generator<at::CPUGeneratorImpl>(7), b = at::make_generator<at::CPUGeneratorImpl>(7);
    at::Tensor p = sample_toy(name, 5000, a);
    EXPECT_EQ(p.sizes(), (std::vector<int64_t>{5000, 2})) << name;
    EXPECT_TRUE(torch::isfinite(p).all().item<bool>()) << name;
    EXPECT_LT(p.abs().max().item<double>(), 7.0) << name;
    EXPECT_GT(p.std(0).min().item<double>(), 0.5) << name;
    EXPECT_TRUE(p.equal(sample_toy(name, 5000, b))) << name;
  }
  at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(0);
  EXPECT_THROW(sample_toy("checkers", 10, gen), Error);
}

TEST(CheckerboardScore, OneCellIsUneven) {
  at::Tensor p = torch::full({100, 2}, 0.5f);  // cell (2, 2): i + j even, off
  EXPECT_EQ(checkerboard_score(p).on_cell_fraction, 0.0);
  p.select(1, 1).fill_(-0.5f);  // cell (2, 1): on
  CheckerboardScore score = checkerboard_score(p);
  EXPECT_EQ(score.on_cell_fraction, 1.0);
  EXPECT_EQ(score.evenness, 0.0);
  EXPECT_DOUBLE_EQ(score.max_cell_deviation, 7.0);
}

}  // namespace
}  // namespace flowmatch
