// The image velocity network, class conditioning and classifier-free guidance.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <set>

#include "flowmatch/core/error.h"
#include "flowmatch/data/image_set.h"
#include "flowmatch/model/model_registry.h"
#include "flowmatch/objective/training_pairs.h"
#include "flowmatch/ode/sampling.h"
#include "flowmatch/train/trainer.h"
#include "test_util.h"

namespace flowmatch {
namespace {

nlohmann::json small_unet(int64_t classes) {
  return {{"name", "unet"}, {"image_shape", {1, 8, 8}}, {"widths", {8, 16}}, {"classes", classes}};
}

// out_conv and every block's last conv start at zero (v = 0 at initialisation); tests that compare
// outputs need them random.
void randomize(VelocityModel& model) {
  torch::NoGradGuard no_grad;
  for (auto& p : model.parameters()) p.normal_(0, 0.2);
}

TEST(UNet, NamesShapesAndRoundTrip) {
  testing::TempDir dir;
  torch::manual_seed(0);
  auto model = make_model(small_unet(3));
  std::set<std::string> names;
  for (const auto& p : model->named_parameters()) names.insert(p.key());
  for (const char* name : {"stem.weight", "down.0.0.conv1.weight", "down.1.0.skip.weight", "downsample.0.weight",
                           "middle_in.time.weight", "attention.qkv.weight", "attention.proj.bias", "up.0.0.conv2.weight",
                           "upsample.0.weight", "out_conv.weight", "class_embedding.weight"})
    EXPECT_EQ(names.count(name), 1u) << name;
  EXPECT_EQ(model->named_parameters()["class_embedding.weight"].size(0), 4);  // 3 classes + "no class"
  EXPECT_EQ(model->sample_shape(), (std::vector<int64_t>{1, 8, 8}));
  EXPECT_EQ(model->data_dim(), 64);
  at::Tensor x = torch::randn({5, 1, 8, 8}), t = torch::rand({5});
  EXPECT_EQ(model->forward(x, t).abs().max().item<float>(), 0.0f);  // out_conv starts at zero
  randomize(*model);
  save_model(dir.file("u.safetensors"), *model);
  auto loaded = load_model(dir.file("u.safetensors"));
  EXPECT_EQ(loaded->config(), model->config());
  EXPECT_TRUE(torch::equal(loaded->forward(x, t), model->forward(x, t)));
  EXPECT_EQ(loaded->forward(x, t).sizes(), x.sizes());
}

TEST(UNet, ClassesChangeTheFieldAndNoClassIsTheUnconditionalOne) {
  torch::manual_seed(1);
  auto model = make_model(small_unet(2));
  randomize(*model);
  at::Tensor x = torch::randn({4, 1, 8, 8}), t = torch::rand({4});
  at::Tensor none = torch::full({4}, 2, torch::kLong), zeros = torch::zeros({4}, torch::kLong);
  EXPECT_TRUE(torch::equal(model->forward(x, t), model->forward_class(x, t, none)));
  EXPECT_GT((model->forward_class(x, t, zeros) - model->forward_class(x, t, zeros + 1)).abs().max().item<float>(), 1e-3);
  auto unconditional = make_model(small_unet(0));
  EXPECT_NE(testing::error_of([&] { unconditional->forward_class(x, t, zeros); }).find("not class-conditional"),
            std::string::npos);
}

TEST(UNet, BadOptionsFailByName) {
  auto message = [](nlohmann::json config) { return testing::error_of([&] { make_model(config); }); };
  nlohmann::json odd = small_unet(0);
  odd["image_shape"] = {1, 6, 6};
  odd["widths"] = {8, 8, 8};
  EXPECT_NE(message(odd).find("needs H and W divisible by 4"), std::string::npos);
  nlohmann::json ungrouped = small_unet(0);
  ungrouped["widths"] = {8, 12};
  EXPECT_NE(message(ungrouped).find("multiple of groups (8), got 12"), std::string::npos);
  EXPECT_NE(message({{"name", "unet"}, {"image_shape", {2}}}).find("needs an image shape [C, H, W]"), std::string::npos);
  EXPECT_NE(message({{"name", "unet"}, {"image_shape", {1, 8, 8}}, {"width", 3}}).find("unknown option 'width'"),
            std::string::npos);
}

// Guidance evaluates both fields in one batch of 2N; it must equal the formula on two separate calls.
TEST(Guidance, IsTheUnconditionalFieldPlusWTimesTheDifference) {
  torch::manual_seed(2);
  auto model = make_model(small_unet(3));
  randomize(*model);
  model->eval();
  torch::NoGradGuard no_grad;
  at::Tensor x = torch::randn({6, 1, 8, 8}), labels = torch::tensor({0, 1, 2, 0, 1, 2}, torch::kLong);
  at::Tensor t = torch::full({6}, 0.3);
  at::Tensor v_c = model->forward_class(x, t, labels), v_u = model->forward(x, t);
  for (double w : {0.0, 1.0, 2.5}) {
    at::Tensor guided = velocity_of(*model, {labels, w})(x, 0.3);
    EXPECT_TRUE(torch::allclose(guided, v_u + w * (v_c - v_u), 1e-4, 1e-5)) << "w = " << w;
  }
  SolverOptions euler;
  euler.method = "euler";
  euler.steps = 2;
  EXPECT_NE(testing::error_of([&] { generate(*model, x, euler, {labels + 1, 1.0}); }).find("class labels must lie in 0 .. 2"),
            std::string::npos);
  auto unconditional = make_model(small_unet(0));
  EXPECT_NE(testing::error_of([&] { generate(*unconditional, x, euler, {labels, 1.0}); }).find("class-conditional"),
            std::string::npos);
  EXPECT_NE(testing::error_of([&] { generate(*model, torch::randn({6, 64}), euler); }).find("shape [1, 8, 8]"),
            std::string::npos);
}

// Two classes of 8 x 8 images: class 0 bright on the left half, class 1 on the right. After a short
// conditional training run, samples drawn for each class are bright on their class's side, and
// guidance (w = 3) makes that contrast larger than the plain conditional field (w = 1).
TEST(UNet, LearnsClassConditionalImagesAndGuidanceSharpensThem) {
  torch::manual_seed(3);
  at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(3);
  ImageSet set;
  at::Tensor left = torch::cat({torch::ones({1, 8, 4}), -torch::ones({1, 8, 4})}, 2);
  set.labels = torch::arange(256, torch::kLong).remainder(2);
  set.images = torch::where(set.labels.eq(0).view({-1, 1, 1, 1}), left, left.flip({2})) + 0.1 * torch::randn({256, 1, 8, 8}, gen);
  set.class_names = {"left", "right"};
  ImagePairs pairs(set, "halves", false);
  auto model = make_model(small_unet(2));
  TrainOptions options;
  options.steps = 300;
  options.batch = 32;
  options.lr.peak = 2e-3;
  options.lr.warmup = 20;
  options.log_every = 100;
  TrainResult result = train_flow(model, pairs, options, gen, "");
  SolverOptions midpoint;
  midpoint.method = "midpoint";
  midpoint.steps = 8;
  at::Tensor noise = torch::randn({64, 1, 8, 8}, gen);
  at::Tensor labels = torch::arange(64, torch::kLong).remainder(2);
  auto contrast = [&](double w) {  // mean of (left half - right half), signed towards each sample's class
    at::Tensor x = generate(*result.model, noise, midpoint, {labels, w}).x;
    at::Tensor difference = x.slice(3, 0, 4).mean({1, 2, 3}) - x.slice(3, 4, 8).mean({1, 2, 3});
    return (difference * (1 - 2 * labels.to(torch::kFloat))).mean().item<double>();
  };
  double plain = contrast(1.0), guided = contrast(3.0);
  EXPECT_GT(plain, 1.4);  // the data's contrast is 2
  EXPECT_GT(guided, plain);
  at::Tensor unconditional = generate(*result.model, noise, midpoint).x;
  EXPECT_LT(unconditional.mean().abs().item<double>(), 0.3);
}

TEST(ImagePairs, FlipsAboutHalfTheImagesWhenAsked) {
  at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(4);
  ImageSet set;
  set.images = torch::arange(4, torch::kFloat).view({1, 1, 1, 4}).expand({10, 1, 1, 4}).contiguous();
  ImagePairs flipping(set, "ramps", true), plain(set, "ramps", false);
  PairBatch batch = flipping.draw(1000, gen);
  double flipped = batch.x1.select(3, 0).eq(3).to(torch::kDouble).mean().item<double>();
  EXPECT_NEAR(flipped, 0.5, 0.06);
  EXPECT_TRUE(torch::equal(plain.draw(50, gen).x1, set.images.slice(0, 0, 1).expand({50, 1, 1, 4})));
  EXPECT_EQ(batch.x0.sizes(), batch.x1.sizes());
  EXPECT_FALSE(batch.labels.defined());
}

}  // namespace
}  // namespace flowmatch
