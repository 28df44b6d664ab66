#include "flowmatch/ode/token_sampling.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "test_util.h"
#include "tiny_token_model.h"

namespace flowmatch {
namespace {

at::Tensor histogram_of(const at::Tensor& tokens, int64_t v) {
  return torch::bincount(tokens.select(1, 0) * v + tokens.select(1, 1), {}, v * v).to(torch::kDouble).reshape({v, v}) /
         double(tokens.size(0));
}

double tv(const at::Tensor& p, const at::Tensor& q) { return 0.5 * (p - q).abs().sum().item<double>(); }

TokenSamples draw(const std::string& source, int64_t steps, double temperature, at::Generator& gen) {
  testing::TinyTokenModel model(testing::tiny_pair_probabilities(), source);
  TokenSampling request;
  request.n = 50000;
  request.steps = steps;
  request.temperature = temperature;
  return sample_tokens(model, testing::condot_mixture(source, 3), request, gen);
}

// Many steps draw the two-token target itself; one step draws each position from its marginal
// independently (both positions jump at once from the source), and at temperature T from the
// marginal raised to 1 / T.
TEST(TokenSampling, TheEulerSamplerDrawsTheTargetAndOneStepItsMarginals) {
  at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(4);
  at::Tensor p = testing::tiny_pair_probabilities();
  at::Tensor independent = p.sum(1).unsqueeze(1) * p.sum(0).unsqueeze(0);
  for (const std::string source : {"mask", "uniform"}) {
    TokenSamples many = draw(source, 100, 1.0, gen);
    EXPECT_EQ(many.nfe, 100);
    EXPECT_LT(tv(histogram_of(many.tokens, 3), p), 0.015) << source;  // 50 000 samples: about 0.005 apart by chance
    EXPECT_GT(tv(p, independent), 0.2);
    EXPECT_LT(tv(histogram_of(draw(source, 1, 1.0, gen).tokens, 3), independent), 0.015) << source;
    at::Tensor a = p.sum(1).pow(2), b = p.sum(0).pow(2);
    at::Tensor sharpened = (a / a.sum()).unsqueeze(1) * (b / b.sum()).unsqueeze(0);
    EXPECT_LT(tv(histogram_of(draw(source, 1, 0.5, gen).tokens, 3), sharpened), 0.015) << source;
  }
}

TEST(TokenSampling, RefusesBadRequests) {
  at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(5);
  EXPECT_EQ(testing::error_of([&] { draw("mask", 0, 1.0, gen); }), "--steps must be positive, got 0");
  EXPECT_EQ(testing::error_of([&] { draw("mask", 10, 0.0, gen); }), "--temperature must be a positive number, got 0.000000");
  testing::TinyTokenModel model(testing::tiny_pair_probabilities(), "mask");
  EXPECT_NE(testing::error_of([&] { sample_tokens(model, testing::condot_mixture("mask", 4), TokenSampling{}, gen); })
                .find("vocabulary"),
            std::string::npos);
}

}  // namespace
}  // namespace flowmatch
