// Time grids against their published formulas, written in each paper's own variables and converted
// here, and the rule that a grid (a shift above all) is applied exactly once however it is reached.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>

#include "flowmatch/ode/solver.h"
#include "flowmatch/ode/time_grid.h"
#include "flowmatch/train/model_usage.h"
#include "test_util.h"

namespace flowmatch {
namespace {

// SD3 (Esser et al. 2024, eq. 23) shifts its noise level sigma (1 = noise) as
// sigma' = S sigma / (1 + (S - 1) sigma); flowmatch's time is t = 1 - sigma.
double sd3_shifted_time(double t, double shift) {
  double sigma = 1 - t;
  return 1 - shift * sigma / (1 + (shift - 1) * sigma);
}

// Karras et al. 2022, eq. 5, on sigma = 1 - t from sigma_max = 1 down to sigma_min = 0:
// sigma_i = (sigma_max^(1/rho) + i / N (sigma_min^(1/rho) - sigma_max^(1/rho)))^rho.
double edm_time(int64_t i, int64_t n, double rho) {
  const double max_root = 1.0, min_root = 0.0;
  return 1 - std::pow(max_root + double(i) / double(n) * (min_root - max_root), rho);
}

TEST(TimeGrid, EachGridFollowsItsPublishedFormula) {
  const int64_t n = 7;
  for (double shift : {0.5, 3.0}) {
    std::vector<double> t = TimeGrid("shift:" + std::to_string(shift)).unit_times(n);
    for (int64_t i = 0; i <= n; ++i) EXPECT_NEAR(t[i], sd3_shifted_time(double(i) / n, shift), 1e-12) << shift << " " << i;
  }
  std::vector<double> edm = TimeGrid("edm:7").unit_times(n), cosine = TimeGrid("cosine").unit_times(n),
                      uniform = TimeGrid("uniform").unit_times(n);
  for (int64_t i = 0; i <= n; ++i) {
    EXPECT_NEAR(edm[i], edm_time(i, n, 7.0), 1e-12) << i;
    EXPECT_NEAR(cosine[i], 0.5 - 0.5 * std::cos(M_PI * double(i) / n), 1e-12) << i;
    EXPECT_DOUBLE_EQ(uniform[i], double(i) / n);
  }
  // SD3 with S = 3 spends its first step on 1/3 of uniform's time near the noise; edm, near the data.
  EXPECT_NEAR(TimeGrid("shift:3").unit_times(n)[1], (1.0 / n) / (3 - 2.0 / n), 1e-12);
  EXPECT_LT(edm[n] - edm[n - 1], 1.0 / n);
  for (const std::string spec : {"uniform", "shift:3", "edm:7", "cosine"}) {
    std::vector<double> t = TimeGrid(spec).unit_times(n);
    EXPECT_EQ(t.front(), 0.0);
    EXPECT_EQ(t.back(), 1.0);
    for (int64_t i = 0; i < n; ++i) EXPECT_LT(t[i], t[i + 1]) << spec;
  }
}

TEST(TimeGrid, RunsBackwardThroughTheSameTimes) {
  TimeGrid grid("shift:3");
  std::vector<double> forward = grid.times(5, 0.0, 1.0), backward = grid.times(5, 1.0, 0.0);
  ASSERT_EQ(forward.size(), backward.size());
  for (size_t i = 0; i < forward.size(); ++i) EXPECT_DOUBLE_EQ(backward[i], forward[forward.size() - 1 - i]);
  std::vector<double> part = grid.times(4, 0.5, 1.0);  // editing from t0 = 0.5: the grid laid on [0.5, 1]
  EXPECT_EQ(part.front(), 0.5);
  EXPECT_EQ(part.back(), 1.0);
  EXPECT_NEAR(part[1], 0.5 + 0.5 * sd3_shifted_time(0.25, 3), 1e-12);
}

TEST(TimeGrid, TheSolverStepsThroughTheGridOnce) {
  SolverOptions options;
  options.method = "euler";
  options.steps = 4;
  options.time_grid = "shift:3";
  options.keep_trajectory = true;
  std::vector<double> seen;
  VelocityFn field = [&](const at::Tensor& x, double t) { seen.push_back(t); return x * 0; };
  Solution s = solve(field, torch::zeros({1, 2}), 0.0, 1.0, options);
  for (int i = 0; i <= 4; ++i) EXPECT_NEAR(s.times[i], sd3_shifted_time(i / 4.0, 3), 1e-12) << i;
  for (int i = 0; i < 4; ++i) EXPECT_NEAR(seen[i], sd3_shifted_time(i / 4.0, 3), 1e-12) << i;
  // A stored sampler keeps the grid's name, not its times: read back, it gives the same grid.
  ModelUsage usage;
  usage.sampler = options;
  ModelUsage read = ModelUsage::from_metadata(usage.to_metadata(), "model.safetensors");
  ASSERT_TRUE(read.sampler.has_value());
  EXPECT_EQ(read.sampler->time_grid, "shift:3");
  EXPECT_EQ(TimeGrid(read.sampler->time_grid).unit_times(4), TimeGrid("shift:3").unit_times(4));
}

TEST(TimeGrid, RefusesBadNamesAndParameters) {
  EXPECT_NE(testing::error_of([] { TimeGrid("shfit:3"); }).find("did you mean shift"), std::string::npos);
  EXPECT_NE(testing::error_of([] { TimeGrid("shift"); }).find("give its parameter"), std::string::npos);
  EXPECT_NE(testing::error_of([] { TimeGrid("cosine:2"); }).find("takes no parameter"), std::string::npos);
  for (const std::string bad : {"shift:0", "shift:-1", "edm:nan", "edm:", "shift:3x"})
    EXPECT_NE(testing::error_of([&] { TimeGrid{bad}; }).find("must be a positive number"), std::string::npos) << bad;
  SolverOptions adaptive;
  adaptive.method = "dopri5";
  adaptive.time_grid = "cosine";
  EXPECT_NE(testing::error_of([&] { adaptive.validate(); }).find("dopri5 places its own steps"), std::string::npos);
}

}  // namespace
}  // namespace flowmatch
