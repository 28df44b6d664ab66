// Objectives picked by name, and the affine path every loss is built on.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "flowmatch/model/model_registry.h"
#include "flowmatch/objective/affine_path.h"
#include "flowmatch/objective/flow_matching.h"
#include "flowmatch/objective/objective_registry.h"
#include "flowmatch/ode/jump_sampler.h"
#include "test_util.h"

namespace flowmatch {
namespace {

TEST(AffinePath, CondOtIsTheStraightLineAndItsVelocity) {
  at::Tensor x0 = torch::randn({5, 3}, torch::kDouble), x1 = torch::randn({5, 3}, torch::kDouble);
  at::Tensor t = torch::rand({5}, torch::kDouble);
  PathPoint p = affine_path(*make_scheduler("condot"), x0, x1, t);
  at::Tensor column = t.unsqueeze(1);
  EXPECT_TRUE(torch::allclose(p.x_t, (1 - column) * x0 + column * x1));
  EXPECT_TRUE(torch::allclose(p.u_t, x1 - x0));
  // Images [B, C, H, W]: each row's time reaches all of its elements.
  at::Tensor i0 = torch::randn({5, 1, 2, 2}, torch::kDouble), i1 = torch::randn({5, 1, 2, 2}, torch::kDouble);
  PathPoint image = affine_path(*make_scheduler("condot"), i0, i1, t);
  at::Tensor t4 = t.view({5, 1, 1, 1});
  EXPECT_TRUE(torch::allclose(image.x_t, (1 - t4) * i0 + t4 * i1));
}

TEST(Objective, EachIsPickedByNameAndAnUnknownOneIsRefused) {
  EXPECT_EQ(objective_names(), (std::vector<std::string>{"flow-matching", "discrete-flow-matching", "meanflow"}));
  ObjectiveOptions options;
  options.name = "consistency";
  EXPECT_EQ(testing::error_of([&] { make_objective(options); }),
            "unknown objective 'consistency' (choose flow-matching, discrete-flow-matching or meanflow)");
  options.name = "meanflow";
  options.interval_fraction = 1.5;
  EXPECT_EQ(testing::error_of([&] { make_objective(options); }), "--interval-fraction must lie in [0, 1]");
}

TEST(Objective, FlowMatchingIsTheConditionalLossAtItsOwnTimes) {
  at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(5);
  auto objective = make_objective(ObjectiveOptions{});
  EXPECT_FALSE(objective->needs_interval());
  EXPECT_FALSE(objective->sampler().has_value());
  PairBatch pairs{torch::randn({64, 2}, gen), torch::randn({64, 2}, gen), {}};
  TrainingTimes times = objective->draw_times(pairs, gen);
  EXPECT_FALSE(times.s.defined());
  ASSERT_EQ(times.t.sizes(), (c10::IntArrayRef{64}));
  auto model = make_model({{"name", "mlp"}, {"data_dim", 2}, {"width", 16}, {"depth", 1}});
  VelocityModelFn v = [&](const at::Tensor& x, const at::Tensor& t) { return model->forward(x, t); };
  EXPECT_DOUBLE_EQ(objective->loss(*model, pairs, {}, times).item<double>(),
                   cfm_loss(v, *make_scheduler("condot"), pairs.x0, pairs.x1, times.t).item<double>());
}

TEST(Objective, MeanFlowDrawsIntervalsNeedsAnIntervalModelAndSamplesWithOneJump) {
  at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(6);
  ObjectiveOptions options;
  options.name = "meanflow";
  auto objective = make_objective(options);
  EXPECT_TRUE(objective->needs_interval());
  ASSERT_TRUE(objective->sampler().has_value());
  EXPECT_EQ(objective->sampler()->method, kJumpSampler);
  EXPECT_EQ(objective->sampler()->steps, 1);
  TrainingTimes times = objective->draw_times(PairBatch{{}, torch::zeros({64, 2}), {}}, gen);
  EXPECT_TRUE((times.s <= times.t).all().item<bool>());
}

}  // namespace
}  // namespace flowmatch
