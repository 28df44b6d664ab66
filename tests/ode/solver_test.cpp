// Solvers on dx/dt = x cos(t), whose solution is x(t) = x(t0) exp(sin t - sin t0).
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>

#include "flowmatch/core/error.h"
#include "flowmatch/ode/sampling.h"
#include "flowmatch/ode/solver.h"
#include "test_util.h"

namespace flowmatch {
namespace {

const VelocityFn kField = [](const at::Tensor& x, double t) { return x * std::cos(t); };

at::Tensor start() { return torch::tensor({1.0, -0.5, 2.0}, torch::kDouble); }
at::Tensor exact(double t0, double t1) { return start() * std::exp(std::sin(t1) - std::sin(t0)); }

double error_with(const std::string& method, int64_t steps) {
  SolverOptions options;
  options.method = method;
  options.steps = steps;
  return (solve(kField, start(), 0.0, 1.0, options).x - exact(0.0, 1.0)).abs().max().item<double>();
}

// The observed order log2(e(N) / e(2N)) on a doubling grid must match the method's order.
void expect_order(const std::string& method, double order, int64_t steps) {
  double coarse = error_with(method, steps), fine = error_with(method, 2 * steps);
  EXPECT_NEAR(std::log2(coarse / fine), order, 0.15) << method << " errors " << coarse << " -> " << fine;
}

TEST(Solver, EulerIsFirstOrder) { expect_order("euler", 1.0, 64); }
TEST(Solver, MidpointIsSecondOrder) { expect_order("midpoint", 2.0, 32); }
TEST(Solver, HeunIsSecondOrder) { expect_order("heun", 2.0, 32); }
TEST(Solver, Rk4IsFourthOrder) { expect_order("rk4", 4.0, 8); }

TEST(Solver, CountsNetworkEvaluations) {
  SolverOptions options;
  options.steps = 10;
  for (auto [method, per_step] : {std::pair<std::string, int>{"euler", 1}, {"midpoint", 2}, {"heun", 2}, {"rk4", 4}}) {
    options.method = method;
    int calls = 0;
    VelocityFn counted = [&](const at::Tensor& x, double t) { ++calls; return kField(x, t); };
    Solution s = solve(counted, start(), 0.0, 1.0, options);
    EXPECT_EQ(s.nfe, 10 * per_step) << method;
    EXPECT_EQ(calls, s.nfe) << method;
  }
}

TEST(Solver, Dopri5MeetsItsTolerance) {
  for (double tol : {1e-4, 1e-6, 1e-8}) {
    SolverOptions options;
    options.method = "dopri5";
    options.atol = options.rtol = tol;
    Solution s = solve(kField, start(), 0.0, 1.0, options);
    double error = (s.x - exact(0.0, 1.0)).abs().max().item<double>();
    EXPECT_LT(error, 10 * tol * 3.0) << "tol " << tol;  // 3 = the largest |x| on the way
    EXPECT_GT(s.nfe, 6);
  }
}

TEST(Solver, Dopri5IntegratesBackwards) {
  SolverOptions options;
  options.method = "dopri5";
  options.atol = options.rtol = 1e-8;
  Solution s = solve(kField, exact(0.0, 1.0), 1.0, 0.0, options);
  EXPECT_LT((s.x - start()).abs().max().item<double>(), 1e-6);
}

TEST(Solver, TrajectoryKeepsEveryStep) {
  SolverOptions options;
  options.method = "heun";
  options.steps = 5;
  options.keep_trajectory = true;
  Solution s = solve(kField, start(), 0.0, 1.0, options);
  ASSERT_EQ(s.states.size(), 6u);
  ASSERT_EQ(s.times.size(), 6u);
  EXPECT_DOUBLE_EQ(s.times.front(), 0.0);
  EXPECT_DOUBLE_EQ(s.times.back(), 1.0);
  EXPECT_TRUE(s.states.back().equal(s.x));
}

TEST(Solver, RejectsBadOptions) {
  SolverOptions options;
  options.method = "leapfrog";
  EXPECT_THROW(options.validate(), Error);
  options.method = "rk4";
  options.steps = 0;
  EXPECT_THROW(options.validate(), Error);
  options.steps = -3;
  EXPECT_THROW(options.validate(), Error);
  options.method = "dopri5";
  options.atol = 0;
  EXPECT_THROW(options.validate(), Error);
}

// The solvers are named once: the tableau table, then dopri5; the jump of interval models is a
// sampler (sampling.h), not an ODE solver.
TEST(Solver, NamesAreTheTableauTableThenDopri5AndJumpIsOnlyASampler) {
  EXPECT_EQ(solver_names(), (std::vector<std::string>{"euler", "midpoint", "heun", "rk4", "dopri5"}));
  EXPECT_EQ(sampler_names(), (std::vector<std::string>{"euler", "midpoint", "heun", "rk4", "dopri5", "jump"}));
  SolverOptions jump{"jump", 1};
  EXPECT_EQ(testing::error_of([&] { jump.validate(); }),
            "unknown solver 'jump' (choose euler, midpoint, heun, rk4 or dopri5)");
  EXPECT_NO_THROW(validate_sampler(jump));
  jump.steps = 0;
  EXPECT_EQ(testing::error_of([&] { validate_sampler(jump); }), "--steps must be positive, got 0");
  SolverOptions unknown{"leapfrog", 4};
  EXPECT_EQ(testing::error_of([&] { validate_sampler(unknown); }),
            "unknown solver 'leapfrog' (choose euler, midpoint, heun, rk4, dopri5, or jump for MeanFlow models)");
}

}  // namespace
}  // namespace flowmatch
