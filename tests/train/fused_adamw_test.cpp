// The fused optimizer (clipping, AdamW and the EMA in one pass over flat buffers) against LibTorch's
// clip_grad_norm_, AdamW and Ema::update, step by step on the same gradients, and its state going
// to and from LibTorch's AdamW (what the training state's file holds).
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <sstream>

#include "flowmatch/model/model_registry.h"
#include "flowmatch/train/fused_adamw.h"
#include "relative_difference.h"

namespace flowmatch {
namespace {

using testing::relative_difference;


// Two models with the same weights: 330 000 parameters, enough for the pass to split in two.
struct Twins {
  std::shared_ptr<VelocityModel> reference, fused;
};
Twins twins() {
  nlohmann::json config = {{"name", "mlp"}, {"data_dim", 2}, {"width", 256}, {"depth", 2}, {"time_dim", 32}};
  torch::manual_seed(5);
  Twins t{make_model(config), make_model(config)};
  torch::NoGradGuard no_grad;
  auto from = t.reference->parameters(), to = t.fused->parameters();
  for (size_t i = 0; i < from.size(); ++i) to[i].copy_(from[i]);
  return t;
}

TrainOptions adamw_options() {
  TrainOptions o;
  o.weight_decay = 0.01;
  o.beta1 = 0.9;
  o.beta2 = 0.99;
  return o;
}

torch::optim::AdamW libtorch_adamw(const std::vector<at::Tensor>& parameters, const TrainOptions& o) {
  return torch::optim::AdamW(parameters, torch::optim::AdamWOptions(1e-3).betas({o.beta1, o.beta2}).weight_decay(o.weight_decay));
}

// Step `step`'s gradients: alternately large (clipped at norm 1) and small (not clipped).
std::vector<at::Tensor> gradients(const std::vector<at::Tensor>& parameters, int step) {
  std::vector<at::Tensor> g;
  for (const auto& p : parameters) g.push_back(torch::randn(p.sizes()) * (step % 2 ? 0.1 : 1e-4));
  return g;
}

class FusedAdamWParity : public ::testing::TestWithParam<int> {};

TEST_P(FusedAdamWParity, TenStepsWithClippingAndEmaMatchLibTorch) {
  const int threads = GetParam();
  Twins models = twins();
  TrainOptions o = adamw_options();
  auto reference_optimizer = libtorch_adamw(models.reference->parameters(), o);
  Ema reference_ema(*models.reference, 0.999), fused_ema(*models.fused, 0.999);
  FusedAdamW fused(models.fused->parameters(), o, &fused_ema, threads);
  torch::manual_seed(11);
  for (int step = 0; step < 10; ++step) {
    const double lr = 1e-3 * (step + 1) / 10.0, max_norm = 1.0;
    std::vector<at::Tensor> g = gradients(models.reference->parameters(), step);
    auto reference = models.reference->parameters(), native = models.fused->parameters();
    for (size_t i = 0; i < g.size(); ++i) {
      reference[i].mutable_grad() = g[i].clone();
      native[i].mutable_grad().copy_(g[i]);  // a view of the flat gradient buffer
    }
    double expected_norm = torch::nn::utils::clip_grad_norm_(reference, max_norm);
    static_cast<torch::optim::AdamWOptions&>(reference_optimizer.param_groups()[0].options()).lr(lr);
    reference_optimizer.step();
    reference_ema.update(step);
    double norm = fused.gradient_norm();
    EXPECT_NEAR(norm, expected_norm, 1e-5 * expected_norm) << "step " << step;
    EXPECT_EQ(step % 2 == 1, norm > max_norm);  // both regimes are exercised
    fused.step(lr, std::min(1.0, max_norm / (norm + 1e-6)), step);
    for (const auto& p : native) EXPECT_EQ(p.grad().abs().max().item<float>(), 0.0f) << "gradients zeroed";
  }
  auto reference = models.reference->named_parameters();
  for (const auto& p : models.fused->named_parameters())
    EXPECT_LT(relative_difference(p.value(), reference[p.key()]), 1e-6) << p.key();
  for (size_t i = 0; i < reference_ema.shadow().size(); ++i)
    EXPECT_LT(relative_difference(fused_ema.shadow()[i], reference_ema.shadow()[i]), 1e-6) << "EMA " << i;

  // Its state, written into a LibTorch AdamW, is LibTorch's own.
  auto vessel = libtorch_adamw(models.fused->parameters(), o);
  fused.save_to(vessel);
  auto fused_parameters = models.fused->parameters(), reference_parameters = models.reference->parameters();
  for (size_t i = 0; i < fused_parameters.size(); ++i) {
    auto key = [](const at::Tensor& p) { return c10::guts::to_string(p.unsafeGetTensorImpl()); };
    auto& got = static_cast<torch::optim::AdamWParamState&>(*vessel.state().at(key(fused_parameters[i])));
    auto& expected = static_cast<torch::optim::AdamWParamState&>(*reference_optimizer.state().at(key(reference_parameters[i])));
    EXPECT_EQ(got.step(), expected.step());
    EXPECT_LT(relative_difference(got.exp_avg(), expected.exp_avg()), 1e-6) << i;
    EXPECT_LT(relative_difference(got.exp_avg_sq(), expected.exp_avg_sq()), 1e-6) << i;
  }
}

INSTANTIATE_TEST_SUITE_P(Threads, FusedAdamWParity, ::testing::Values(1, 2));

TEST(FusedAdamW, ContinuesFromLibTorchsSavedStateAsLibTorchDoes) {
  Twins models = twins();
  TrainOptions o = adamw_options();
  auto reference_optimizer = libtorch_adamw(models.reference->parameters(), o);
  torch::manual_seed(12);
  for (int step = 0; step < 3; ++step) {
    std::vector<at::Tensor> g = gradients(models.reference->parameters(), step);
    auto reference = models.reference->parameters();
    for (size_t i = 0; i < g.size(); ++i) reference[i].mutable_grad() = g[i];
    reference_optimizer.step();
  }
  {  // the other twin takes the reference's weights and, through a file's bytes, its AdamW state
    torch::NoGradGuard no_grad;
    auto from = models.reference->parameters(), to = models.fused->parameters();
    for (size_t i = 0; i < from.size(); ++i) to[i].copy_(from[i]);
  }
  torch::serialize::OutputArchive out;
  reference_optimizer.save(out);
  std::stringstream bytes;
  out.save_to(bytes);
  torch::serialize::InputArchive in;
  in.load_from(bytes);
  auto vessel = libtorch_adamw(models.fused->parameters(), o);
  vessel.load(in);
  FusedAdamW fused(models.fused->parameters(), o, nullptr, 1);
  fused.load_from(vessel);
  // One more step each, on the same gradients.
  std::vector<at::Tensor> g = gradients(models.reference->parameters(), 3);
  auto reference = models.reference->parameters(), native = models.fused->parameters();
  for (size_t i = 0; i < g.size(); ++i) {
    reference[i].mutable_grad() = g[i].clone();
    native[i].mutable_grad().copy_(g[i]);
  }
  reference_optimizer.step();
  fused.step(1e-3, 1.0, 3);
  auto expected = models.reference->named_parameters();
  for (const auto& p : models.fused->named_parameters())
    EXPECT_LT(relative_difference(p.value(), expected[p.key()]), 1e-6) << p.key();
}

TEST(FusedAdamW, KeepsTheModulesTensorsAsViewsOfItsBuffer) {
  Twins models = twins();
  auto before = models.fused->named_parameters();
  std::map<std::string, at::Tensor> values;
  for (const auto& p : before) values[p.key()] = p.value().detach().clone();
  FusedAdamW fused(models.fused->parameters(), adamw_options(), nullptr, 1);
  // The same names, shapes and values, now in one buffer: consecutive, in parameters() order.
  const float* next = nullptr;
  for (const auto& p : models.fused->named_parameters()) {
    EXPECT_TRUE(torch::equal(p.value(), values[p.key()])) << p.key();
    if (next) EXPECT_EQ(p.value().data_ptr<float>(), next) << p.key();
    next = p.value().data_ptr<float>() + p.value().numel();
    ASSERT_TRUE(p.value().grad().defined());
    EXPECT_EQ(p.value().grad().abs().sum().item<float>(), 0.0f);
  }
}

}  // namespace
}  // namespace flowmatch
