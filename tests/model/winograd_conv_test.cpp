// The unet's native engine: 3 x 3 convolutions on oneDNN's Winograd kernels against LibTorch's,
// GroupNorm + SiLU in one pass against LibTorch's two modules, and the unet on both engines. Where
// this CPU has no Winograd kernels (they need AVX-512), the tests that need them say so and skip;
// the fallback to LibTorch is checked everywhere.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <tuple>

#include "flowmatch/core/error.h"
#include "flowmatch/model/engine.h"
#include "flowmatch/model/fused_group_norm.h"
#include "flowmatch/model/model_registry.h"
#include "flowmatch/model/unet.h"
#include "flowmatch/model/winograd_conv.h"
#include "relative_difference.h"

namespace flowmatch {
namespace {

using testing::relative_difference;

struct ConvCase {
  int64_t batch, in, out, height, width;
};

// y, dL/dx, dL/dW and dL/db of L = sum(y * dy) for y = conv(x)
std::vector<at::Tensor> value_and_gradients(torch::nn::Conv2d& conv, const at::Tensor& x_in, const at::Tensor& dy,
                                            bool winograd) {
  at::Tensor x = x_in.clone().requires_grad_(true);
  conv->zero_grad();
  at::Tensor y = conv3x3(*conv, x, winograd);
  (y * dy).sum().backward();
  return {y.detach(), x.grad(), conv->weight.grad().clone(), conv->bias.grad().clone()};
}

TEST(WinogradConv, MatchesLibTorchsConvolutionAndItsGradients) {
  int compared = 0;
  for (ConvCase c : {ConvCase{2, 3, 16, 10, 12}, ConvCase{4, 32, 32, 28, 28}, ConvCase{3, 64, 32, 7, 7}}) {
    if (!winograd_available(c.in, c.out, c.height, c.width)) continue;
    ++compared;
    torch::manual_seed(c.in + c.out);
    torch::nn::Conv2d conv(torch::nn::Conv2dOptions(c.in, c.out, 3).padding(1));
    at::Tensor x = torch::randn({c.batch, c.in, c.height, c.width}), dy = torch::randn({c.batch, c.out, c.height, c.width});
    auto reference = value_and_gradients(conv, x, dy, false), winograd = value_and_gradients(conv, x, dy, true);
    const char* names[] = {"y", "dL/dx", "dL/dW", "dL/db"};
    for (int i = 0; i < 4; ++i)
      EXPECT_LT(relative_difference(winograd[i], reference[i]), 1e-5) << names[i] << " for " << c.in << " -> " << c.out;
    torch::InferenceMode inference;  // sampling's path: no graph
    EXPECT_LT(relative_difference(conv3x3(*conv, x, true), reference[0]), 1e-5);
    // a view that starts 12 bytes into its storage (oneDNN's kernels need 64-byte aligned arrays)
    at::Tensor shifted = torch::empty({x.numel() + 3}).slice(0, 3).view(x.sizes()).copy_(x);
    EXPECT_LT(relative_difference(conv3x3(*conv, shifted, true), reference[0]), 1e-5);
  }
  if (compared == 0) GTEST_SKIP() << "this CPU has no oneDNN Winograd kernels (they need AVX-512)";
}

TEST(WinogradConv, OtherConvolutionsAndTypesStayOnLibTorch) {
  torch::manual_seed(0);
  torch::nn::Conv2d strided(torch::nn::Conv2dOptions(16, 16, 3).stride(2).padding(1));
  torch::nn::Conv2d unpadded(torch::nn::Conv2dOptions(16, 16, 3));
  at::Tensor x = torch::randn({2, 16, 8, 8});
  torch::NoGradGuard no_grad;
  EXPECT_TRUE(torch::equal(conv3x3(*strided, x, true), strided->forward(x)));
  EXPECT_TRUE(torch::equal(conv3x3(*unpadded, x, true), unpadded->forward(x)));
  torch::nn::Conv2d same(torch::nn::Conv2dOptions(16, 16, 3).padding(1));
  same->to(torch::kDouble);
  at::Tensor x64 = x.to(torch::kDouble);
  EXPECT_TRUE(torch::equal(conv3x3(*same, x64, true), same->forward(x64)));
}

TEST(FusedGroupNorm, MatchesLibTorchsGroupNormThenSiLUWhenNoGradientIsAsked) {
  torch::manual_seed(5);
  for (auto [groups, channels, size] : {std::tuple{8, 32, 28}, {4, 64, 7}, {1, 3, 5}}) {
    torch::nn::GroupNorm norm(torch::nn::GroupNormOptions(groups, channels));
    {
      torch::NoGradGuard no_grad;
      norm->weight.normal_(1, 0.3);
      norm->bias.normal_(0, 0.3);
    }
    at::Tensor x = torch::randn({3, channels, size, size}) * 2 + 0.5;
    at::Tensor reference = torch::silu(norm(x)).detach();
    {
      torch::InferenceMode inference;
      EXPECT_LT(relative_difference(silu_of_group_norm(*norm, x, true), reference), 1e-5) << channels << " channels";
    }
    // with autograd on (training), the LibTorch modules run, so the gradient is theirs
    at::Tensor graph = silu_of_group_norm(*norm, x, true);
    EXPECT_TRUE(graph.requires_grad());
    EXPECT_TRUE(torch::equal(graph.detach(), reference));
  }
}

// A class-conditional unet, its forward and every parameter's gradient, on the engine asked for.
std::vector<at::Tensor> unet_pass(const std::shared_ptr<VelocityModel>& model, const std::string& engine,
                                  const at::Tensor& x, const at::Tensor& t, const at::Tensor& labels) {
  auto on = on_engine(model, engine);
  model->zero_grad();
  at::Tensor v = on->forward_class(x, t, labels);
  v.pow(2).mean().backward();
  std::vector<at::Tensor> out = {v.detach()};
  for (const auto& p : model->parameters()) out.push_back(p.grad().clone());
  return out;
}

TEST(WinogradConv, TheUNetAgreesOnBothEnginesAndTheEngineIsChosenByName) {
  torch::manual_seed(3);
  auto model = make_model({{"name", "unet"}, {"image_shape", {1, 16, 16}}, {"widths", {16, 32}}, {"classes", 3}});
  const auto& unet = dynamic_cast<const UNet&>(*model);
  {
    torch::NoGradGuard no_grad;
    for (auto& p : model->parameters()) p.normal_(0, 0.1);  // its zero-initialised layers too
  }
  EXPECT_FALSE(runs_natively(*model, "torch"));
  EXPECT_EQ(runs_natively(*model, "auto"), unet.native_runs());
  EXPECT_THROW(runs_natively(*model, "fast"), Error);
  if (!unet.native_runs()) {
    EXPECT_THROW(runs_natively(*model, "native"), Error);
    GTEST_SKIP() << "this CPU has no oneDNN Winograd kernels (they need AVX-512)";
  }
  at::Tensor x = torch::randn({4, 1, 16, 16}), t = torch::rand({4}), labels = torch::tensor({0, 1, 2, 3});
  auto reference = unet_pass(model, "torch", x, t, labels), native = unet_pass(model, "native", x, t, labels);
  ASSERT_EQ(reference.size(), native.size());
  EXPECT_LT(relative_difference(native[0], reference[0]), 1e-5) << "v";
  auto names = model->named_parameters().keys();
  for (size_t i = 1; i < reference.size(); ++i)
    EXPECT_LT(relative_difference(native[i], reference[i]), 1e-5) << names[i - 1];
  {
    torch::InferenceMode inference;  // sampling: the fused GroupNorm + SiLU as well
    at::Tensor sampled = on_engine(model, "native")->forward_class(x, t, labels);
    EXPECT_LT(relative_difference(sampled, reference[0]), 1e-5);
  }
  // the same module switched back: bit for bit LibTorch's again
  EXPECT_TRUE(torch::equal(unet_pass(model, "torch", x, t, labels)[0], reference[0]));
}

}  // namespace
}  // namespace flowmatch
