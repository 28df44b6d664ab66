// The native engine against the LibTorch modules it mirrors: forward passes, input gradients and
// weight gradients (called directly and through autograd) of every MLP variant agree to 1e-5
// relative (the norm of the difference over the norm of LibTorch's; measured: at most 8e-7), on one
// thread and with the rows split across two, in tiles and in one piece.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "flowmatch/core/threads.h"
#include "flowmatch/model/model_registry.h"
#include "flowmatch/model/native_mlp.h"
#include "flowmatch/ode/divergence.h"
#include "mlp_variants.h"
#include "relative_difference.h"
#include "test_util.h"

namespace flowmatch {
namespace {

using testing::mlp_variants;
using testing::MlpVariant;
using testing::relative_difference;

constexpr double kTolerance = 1e-5;

// Inputs for `rows` rows of a model; s (interval models) below t.
struct Inputs {
  at::Tensor x, s, t;
  Condition given;
};

Inputs inputs_for(const VelocityModel& model, int64_t rows, bool dropped_rows) {
  Inputs in;
  in.x = torch::randn({rows, model.data_dim()});
  in.t = torch::rand({rows});
  if (model.takes_interval()) in.s = in.t * torch::rand({rows});
  if (model.context_dim() > 0) {
    in.given.context = torch::randn({rows, model.context_dim()});
    if (dropped_rows) in.given.dropped = torch::rand({rows}) < 0.3;
  }
  return in;
}

at::Tensor reference_forward(VelocityModel& model, const Inputs& in, const at::Tensor& x) {
  if (model.takes_interval()) return model.forward_average(x, in.s, in.t, in.given);
  return model.forward_given(x, in.t, in.given);
}

class NativeMLPParity : public ::testing::TestWithParam<int> {};

TEST_P(NativeMLPParity, ForwardAndGradientsMatchLibTorch) {
  int threads = GetParam();
  set_compute_threads(threads, Workload::NativeKernels);
  for (const MlpVariant& variant : mlp_variants()) {
    SCOPED_TRACE(variant.label + ", " + std::to_string(threads) + " thread(s)");
    torch::manual_seed(7);
    auto model = make_model(variant.config);
    for (auto& p : model->named_parameters())  // the linear term starts at zero: weights of its own, so its product is checked
      if (p.key().rfind("linear_term.", 0) == 0) p.value().data().normal_(0, 0.1);
    NativeMLP native(model, threads);
    // Sampling: 300 rows (three tiles of a thread's share), with their own times or, as an ODE solver
    // asks, one time for all (computed once); and one row.
    for (auto [rows, one_time] : {std::pair{300, false}, {300, true}, {1, false}}) {
      Inputs in = inputs_for(*model, rows, variant.dropped_rows);
      if (one_time) {
        in.t.fill_(0.625);
        if (in.s.defined()) in.s.fill_(0.25);
      }
      torch::NoGradGuard no_grad;  // as the samplers run it: in tiles, keeping nothing for backward
      at::Tensor expected = reference_forward(*model, in, in.x);
      at::Tensor got = model->takes_interval() ? native.forward_average(in.x, in.s, in.t, in.given)
                                               : native.forward_given(in.x, in.t, in.given);
      EXPECT_LT(relative_difference(got, expected), kTolerance) << rows << " rows" << (one_time ? ", one time" : "");
    }
    // Training: the forward pass, then dL/dx and dL/dW for L = sum(v * g).
    Inputs in = inputs_for(*model, 40, variant.dropped_rows);
    at::Tensor g = torch::randn({40, model->data_dim()});
    at::Tensor x = in.x.clone().requires_grad_(true);
    model->zero_grad();
    at::Tensor expected_v = reference_forward(*model, in, x);
    (expected_v * g).sum().backward();
    std::map<std::string, at::Tensor> expected_grads;
    for (const auto& p : model->named_parameters()) expected_grads[p.key()] = p.value().grad().clone();
    model->zero_grad();
    for (auto& p : model->parameters()) p.mutable_grad() = at::Tensor();
    at::Tensor v = native.training_forward(in.x, in.s, in.t, in.given);
    EXPECT_LT(relative_difference(v, expected_v.detach()), kTolerance);
    at::Tensor dx = native.backward(g, true);
    EXPECT_LT(relative_difference(dx, x.grad()), kTolerance);
    for (const auto& p : model->named_parameters()) {
      ASSERT_TRUE(p.value().grad().defined()) << p.key();
      EXPECT_LT(relative_difference(p.value().grad(), expected_grads[p.key()]), kTolerance) << p.key();
    }
    // A second backward adds to .grad(), as autograd does.
    native.backward(g, false);
    for (const auto& p : model->named_parameters())
      EXPECT_LT(relative_difference(p.value().grad(), 2 * expected_grads[p.key()]), kTolerance) << p.key();
    // Through autograd, as a training step runs it: loss.backward() adds dL/dW to .grad().
    for (auto& p : model->parameters()) p.mutable_grad() = at::Tensor();
    at::Tensor vt = model->takes_interval() ? native.forward_average(in.x, in.s, in.t, in.given)
                                            : native.forward_given(in.x, in.t, in.given);
    EXPECT_TRUE(vt.requires_grad());
    (vt * g).sum().backward();
    for (const auto& p : model->named_parameters())
      EXPECT_LT(relative_difference(p.value().grad(), expected_grads[p.key()]), kTolerance) << p.key();
    // Through autograd, to x alone: the divergence of a likelihood, exactly (D vector-Jacobian products),
    // leaving the weights' .grad() as it was.
    {
      std::vector<at::Tensor> grads_before;
      for (const auto& p : model->parameters()) grads_before.push_back(p.grad().clone());
      at::Tensor xr = in.x.clone().requires_grad_(true), xn = in.x.clone().requires_grad_(true);
      at::Tensor expected_div = exact_divergence(reference_forward(*model, in, xr), xr, false);
      at::Tensor vn = model->takes_interval() ? native.forward_average(xn, in.s, in.t, in.given)
                                              : native.forward_given(xn, in.t, in.given);
      EXPECT_LT(relative_difference(exact_divergence(vn, xn, false), expected_div), kTolerance);
      for (size_t i = 0; i < grads_before.size(); ++i) EXPECT_TRUE(torch::equal(model->parameters()[i].grad(), grads_before[i]));
      auto message_of = [](const std::function<void()>& f) -> std::string {
        try {
          f();
        } catch (const std::exception& e) {
          return e.what();
        }
        return "";
      };
      EXPECT_NE(message_of([&] { torch::autograd::grad({vn}, {xn}, {g}, true, /*create_graph=*/true); })
                    .find("cannot themselves be differentiated"),
                std::string::npos);
      native.forward_given(xn * 2, in.t, in.given);  // a second pass overwrites the first's activations
      EXPECT_NE(message_of([&] { torch::autograd::grad({vn}, {xn}, {g}, true); }).find("another one ran since"),
                std::string::npos);
      at::Tensor vk = native.forward_given(xn, in.t, in.given);
      {
        torch::NoGradGuard sampling;  // so does a sampling pass, which keeps nothing
        native.forward_given(in.x, in.t, in.given);
      }
      EXPECT_NE(message_of([&] { torch::autograd::grad({vk}, {xn}, {g}, true); }).find("another one ran since"),
                std::string::npos);
    }
  }
  set_compute_threads(0);
}

INSTANTIATE_TEST_SUITE_P(Threads, NativeMLPParity, ::testing::Values(1, 2));

TEST(NativeMLP, RunsOnlyFloat32MLPsAndRefusesWhatTheModelDoesNotTake) {
  auto unet = make_model({{"name", "unet"}, {"image_shape", {1, 8, 8}}, {"widths", {8, 16}}});
  EXPECT_FALSE(NativeMLP::runs(*unet));
  EXPECT_NE(testing::error_of([&] { NativeMLP native(unet); }).find("seed-mlp and mlp"), std::string::npos);
  auto doubled = make_model({{"name", "mlp"}, {"data_dim", 2}});
  doubled->to(torch::kDouble);
  EXPECT_FALSE(NativeMLP::runs(*doubled));

  auto plain = make_model({{"name", "mlp"}, {"data_dim", 2}, {"width", 16}, {"depth", 1}});
  NativeMLP native(plain);
  EXPECT_NE(testing::error_of([&] { native.forward_context(torch::zeros({4, 2}), torch::zeros({4}), torch::zeros({4, 3})); })
                .find("takes no context"),
            std::string::npos);
  EXPECT_NE(testing::error_of([&] { native.forward(torch::zeros({4, 3}), torch::zeros({4})); }).find("x [B, 2]"),
            std::string::npos);
  EXPECT_NE(testing::error_of([&] { native.backward(torch::zeros({4, 2}), true); }).find("training_forward first"),
            std::string::npos);
  auto conditional = make_model({{"name", "mlp"}, {"data_dim", 2}, {"width", 16}, {"depth", 1}, {"context_dim", 3}});
  NativeMLP with_context(conditional);
  EXPECT_NE(testing::error_of([&] {
              with_context.forward_context(torch::zeros({4, 2}), torch::zeros({4}), torch::zeros({4, 2}));
            }).find("3-D context"),
            std::string::npos);
}

}  // namespace
}  // namespace flowmatch
