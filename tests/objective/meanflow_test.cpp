// MeanFlow: the loss's Jacobian-vector product against a model with known derivatives, the
// interval times, and a trained one-step generator on Gaussian data, where one Euler step of the
// flow collapses every sample onto the mean.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "flowmatch/core/allocator.h"
#include "flowmatch/core/threads.h"
#include "flowmatch/data/toy_distributions.h"
#include "flowmatch/model/model_registry.h"
#include "flowmatch/objective/meanflow.h"
#include "flowmatch/ode/sampling.h"
#include "flowmatch/train/trainer.h"

namespace flowmatch {
namespace {

// u(z, s, t | c) = w * (z s^2 + t) + c s: du/dz = w s^2, du/ds = 2 w z s + c (c = 0 without a context).
class PolynomialAverageVelocity : public VelocityModel {
 public:
  PolynomialAverageVelocity() { w = register_parameter("w", torch::tensor(1.5, torch::kDouble)); }
  at::Tensor forward(const at::Tensor& x, const at::Tensor& t) override { return forward_average(x, t, t); }
  bool takes_interval() const override { return true; }
  using VelocityModel::forward_average;
  at::Tensor forward_average(const at::Tensor& z, const at::Tensor& s, const at::Tensor& t, const Condition& given) override {
    at::Tensor u = w * (z * s.pow(2).unsqueeze(1) + t.unsqueeze(1));
    return given.context.defined() ? u + given.context * s.unsqueeze(1) : u;
  }
  nlohmann::json config() const override { return {{"name", "polynomial"}}; }
  std::vector<int64_t> sample_shape() const override { return {2}; }
  at::Tensor w;
};

// With a context, c is held fixed along the path: it enters u and d/ds u, but has no tangent.
TEST(MeanFlowLoss, TargetUsesTheExactTotalDerivative) {
  for (bool with_context : {false, true}) {
    PolynomialAverageVelocity model;
    auto scheduler = make_scheduler("condot");
    at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(0);
    at::Tensor x0 = torch::randn({64, 2}, gen, torch::kDouble), x1 = torch::randn({64, 2}, gen, torch::kDouble) + 1;
    at::Tensor a = torch::rand({64}, gen, torch::kDouble), b = torch::rand({64}, gen, torch::kDouble);
    at::Tensor c = with_context ? torch::randn({64, 2}, gen, torch::kDouble) : torch::zeros({64, 2}, torch::kDouble);
    TrainingTimes times{torch::minimum(a, b), torch::maximum(a, b)};
    at::Tensor loss = meanflow_loss(model, *scheduler, x0, x1, times, Condition{{}, with_context ? c : at::Tensor(), {}});

    at::Tensor s = times.s.unsqueeze(1), t = times.t.unsqueeze(1), w = model.w.detach();
    at::Tensor z = (1 - s) * x0 + s * x1, v = x1 - x0;
    at::Tensor u = w * (z * s.pow(2) + t) + c * s;
    at::Tensor du_ds = w * s.pow(2) * v + 2 * w * z * s + c;  // (du/dz) v + du/ds
    at::Tensor expected = (u - (v + (t - s) * du_ds)).pow(2).mean();
    EXPECT_NEAR(loss.item<double>(), expected.item<double>(), 1e-12) << "with a context: " << with_context;
    // The gradient reaches the weights only through u, not through the stopped target.
    loss.backward();
    at::Tensor target = v + (t - s) * du_ds;
    double expected_grad = (2 * (u - target) * (z * s.pow(2) + t)).mean().item<double>();
    EXPECT_NEAR(model.w.grad().item<double>(), expected_grad, 1e-10) << "with a context: " << with_context;
  }
}

TEST(MeanFlowLoss, IntervalTimesAreOrderedAndEqualOnTheRest) {
  at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(1);
  TrainingTimes times = draw_interval_times(TimeSampler(), 0.25, 20000, gen);
  EXPECT_TRUE((times.s <= times.t).all().item<bool>());
  double share = (times.s < times.t).to(torch::kDouble).mean().item<double>();
  EXPECT_NEAR(share, 0.25, 0.015);
  TrainingTimes flow_matching = draw_interval_times(TimeSampler(), 0.0, 1000, gen);
  EXPECT_TRUE(flow_matching.s.equal(flow_matching.t));
}

TEST(TimeSampler, GridDrawsOnlyTheStartTimesOfKSteps) {
  at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(2);
  TimeSampler grid;
  grid.name = "grid";
  grid.grid_points = 4;
  at::Tensor t = grid(4000, gen);
  EXPECT_TRUE(std::get<0>(at::_unique(t)).equal(torch::tensor({0.0f, 0.25f, 0.5f, 0.75f})));
  grid.grid_points = 0;
  EXPECT_THROW(grid.validate(), std::exception);
}

// N(0, I) to N(mu, Sigma) with independent pairs: v(x, 0) = mu - x, so one Euler step of the flow
// puts every sample at mu. A MeanFlow model jumps to N(mu, Sigma) in one evaluation.
TEST(MeanFlow, OneStepGeneratorMatchesGaussianMoments) {
  set_compute_threads(0);
  keep_freed_memory();
  at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(5);
  torch::manual_seed(5);
  TrainOptions options;
  options.objective.name = "meanflow";
  options.objective.interval_fraction = 0.75;
  options.steps = 2000;
  options.batch = 256;
  options.log_every = 2000;
  auto model = make_model({{"name", "mlp"}, {"data_dim", 2}, {"width", 128}, {"depth", 2}, {"interval", true}});
  auto trained = train_flow(model, CoupledPairs(PointData("gaussian", 0, gen)), options, gen, "").model;

  at::Tensor noise = torch::randn({20000, 2}, gen);
  SolverOptions one_jump;
  one_jump.method = "jump";
  one_jump.steps = 1;
  Solution jumped = generate(*trained, noise, one_jump);
  EXPECT_EQ(jumped.nfe, 1);
  at::Tensor mean = jumped.x.mean(0), centred = jumped.x - mean;
  at::Tensor covariance = torch::matmul(centred.t(), centred) / double(jumped.x.size(0) - 1);
  EXPECT_LT((mean - toy_gaussian_mean()).abs().max().item<double>(), 0.1) << mean;
  // One Euler step loses the whole spread (below); one jump keeps most of it. After 2000 steps the
  // largest covariance entry is still off by 0.16 (too narrow): a short run, not the converged model.
  EXPECT_LT((covariance - toy_gaussian_covariance()).abs().max().item<double>(), 0.25) << covariance;

  SolverOptions one_euler;
  one_euler.method = "euler";
  one_euler.steps = 1;
  at::Tensor collapsed = generate(*trained, noise, one_euler).x;  // the instantaneous field u(x, t, t)
  EXPECT_LT(collapsed.var(0).max().item<double>(), 0.2) << collapsed.var(0);
}

}  // namespace
}  // namespace flowmatch
