// Training on the native engine (the network's backward by hand, AdamW, clipping and the EMA in one
// fused pass) against LibTorch's autograd and AdamW: ten steps of every MLP variant, from the same
// weights and draws, end at the same weights and losses within 1e-5 relative, on one thread and two.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "flowmatch/core/threads.h"
#include "flowmatch/model/model_registry.h"
#include "flowmatch/model/unet.h"
#include "flowmatch/objective/training_pairs.h"
#include "flowmatch/train/trainer.h"
#include "mlp_variants.h"
#include "relative_difference.h"
#include "test_util.h"

namespace flowmatch {
namespace {

using testing::mlp_variants;
using testing::MlpVariant;
using testing::relative_difference;

constexpr double kTolerance = 1e-5;

TrainResult ten_steps(const MlpVariant& variant, const std::string& engine) {
  const nlohmann::json& config = variant.config;
  at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(3);
  int64_t C = config.value("context_dim", int64_t(0));
  at::Tensor z0 = torch::randn({256, 3}, gen), z1 = torch::randn({256, 3}, gen) * 0.5 + 1;
  FixedPairs pairs(z0, z1, "pairs", C > 0 ? torch::randn({256, C}, gen) : at::Tensor());
  TrainOptions options;
  options.steps = 10;
  options.batch = 64;
  options.lr.warmup = 2;
  options.weight_decay = 0.01;
  options.grad_clip = 0.5;
  options.ema = 0.99;
  options.log_every = 1;
  options.context_dropout = variant.dropped_rows ? 0.3 : 0.0;
  options.engine = engine;
  torch::manual_seed(4);
  return train_flow(make_model(config), pairs, options, gen, "");
}

class NativeTraining : public ::testing::TestWithParam<int> {};

TEST_P(NativeTraining, TenStepsMatchLibTorch) {
  set_compute_threads(GetParam(), Workload::NativeKernels);
  for (const MlpVariant& variant : mlp_variants()) {
    SCOPED_TRACE(variant.label + ", " + std::to_string(GetParam()) + " thread(s)");
    TrainResult native = ten_steps(variant, "native"), reference = ten_steps(variant, "torch");
    EXPECT_EQ(native.engine, "native");
    EXPECT_EQ(reference.engine, "torch");
    ASSERT_EQ(native.log_losses.size(), 10u);
    for (size_t i = 0; i < native.log_losses.size(); ++i)
      EXPECT_NEAR(native.log_losses[i], reference.log_losses[i], kTolerance * reference.log_losses[i]) << "step " << i + 1;
    auto expected = reference.model->named_parameters();  // the EMA's weights
    for (const auto& p : native.model->named_parameters())
      EXPECT_LT(relative_difference(p.value(), expected[p.key()]), kTolerance) << p.key();
  }
  set_compute_threads(0);
}

INSTANTIATE_TEST_SUITE_P(Threads, NativeTraining, ::testing::Values(1, 2));

TEST(NativeTraining, AutoPicksTheEngineThatRunsTheModelAndObjective) {
  nlohmann::json mlp = {{"name", "mlp"}, {"data_dim", 2}, {"width", 16}, {"depth", 1}};
  auto points = make_model(mlp);
  auto unet = make_model({{"name", "unet"}, {"image_shape", {1, 8, 8}}, {"widths", {8, 16}}});
  bool winograd = dynamic_cast<const UNet&>(*unet).native_runs();  // the unet's native engine needs AVX-512
  auto doubled = make_model(mlp);
  doubled->to(torch::kDouble);
  TrainOptions options;
  EXPECT_EQ(training_engine(*points, options), "native");
  EXPECT_EQ(training_engine(*unet, options), winograd ? "native" : "torch");
  EXPECT_EQ(training_engine(*doubled, options), "torch");
  options.engine = "torch";
  EXPECT_EQ(training_engine(*points, options), "torch");
  EXPECT_EQ(training_engine(*unet, options), "torch");
  options.engine = "native";
  if (winograd) EXPECT_EQ(training_engine(*unet, options), "native");
  else EXPECT_NE(testing::error_of([&] { training_engine(*unet, options); }).find("which this CPU lacks"), std::string::npos);
  EXPECT_NE(testing::error_of([&] { training_engine(*doubled, options); }).find("in float64"), std::string::npos);
  options.objective.name = "meanflow";
  auto interval = make_model({{"name", "mlp"}, {"data_dim", 2}, {"width", 16}, {"depth", 1}, {"interval", true}});
  EXPECT_NE(testing::error_of([&] { training_engine(*interval, options); }).find("Jacobian-vector product"), std::string::npos);
  options.engine = "auto";
  EXPECT_EQ(training_engine(*interval, options), "torch");
  options.engine = "tpu";
  EXPECT_NE(testing::error_of([&] { options.validate(); }).find("unknown engine 'tpu'"), std::string::npos);
}

}  // namespace
}  // namespace flowmatch
