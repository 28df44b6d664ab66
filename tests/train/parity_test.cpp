// Parity with the PyTorch twin (bench/reference/twin.py): small goldens written by
// bench/reference/make_goldens.py hold the twin's weights and what it computed from fixed inputs;
// flowmatch loads the same weights and must compute the same, within 1e-5 relative.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "flowmatch/io/safetensors.h"
#include "flowmatch/model/model_registry.h"
#include "flowmatch/model/module_weights.h"
#include "flowmatch/objective/flow_matching.h"
#include "flowmatch/objective/scheduler.h"
#include "flowmatch/ode/sampling.h"
#include "flowmatch/ode/solver.h"

namespace flowmatch {
namespace {

// max |got - expected| / max |expected|
double relative_error(const at::Tensor& got, const at::Tensor& expected) {
  return (got - expected).abs().max().item<double>() / expected.abs().max().item<double>();
}

class Parity : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    path_ = std::string(FLOWMATCH_GOLDENS) + "/" + GetParam() + ".safetensors";
    golden_ = read_safetensors(path_);
    model_ = make_model(nlohmann::json::parse(golden_.metadata.at("flowmatch.model")));
    load_module_weights(*model_, with_prefix("model."), path_);
  }
  // The golden's tensors named prefix + NAME, as NAME.
  Safetensors with_prefix(const std::string& prefix) const {
    Safetensors part;
    for (const auto& [name, tensor] : golden_.tensors)
      if (name.rfind(prefix, 0) == 0) part.tensors.emplace_back(name.substr(prefix.size()), tensor);
    return part;
  }
  std::string path_;
  Safetensors golden_;
  std::shared_ptr<VelocityModel> model_;
};

TEST_P(Parity, ForwardAndBackwardMatchTheTwin) {
  at::Tensor v = model_->forward(golden_.at("x"), golden_.at("t"));
  EXPECT_LT(relative_error(v, golden_.at("v")), 1e-5);
  (v - golden_.at("target")).pow(2).mean().backward();
  for (const auto& item : model_->named_parameters())
    EXPECT_LT(relative_error(item.value().grad(), golden_.at("grad." + item.key())), 1e-5) << item.key();
}

TEST_P(Parity, TenAdamWStepsMatchTheTwin) {
  torch::optim::AdamW optimizer(model_->parameters(), torch::optim::AdamWOptions(1e-3).weight_decay(0.01));
  auto scheduler = make_scheduler("condot", 2.0);
  auto v = [&](const at::Tensor& x, const at::Tensor& t) { return model_->forward(x, t); };
  for (int step = 0; step < 10; ++step) {
    optimizer.zero_grad();
    cfm_loss(v, *scheduler, golden_.at("x0"), golden_.at("x1"), golden_.at("t").repeat({2})).backward();
    optimizer.step();
  }
  for (const auto& item : model_->named_parameters())
    EXPECT_LT(relative_error(item.value(), golden_.at("adamw." + item.key())), 1e-5) << item.key();
}

TEST_P(Parity, EulerAndRk4SamplesMatchTheTwin) {
  torch::NoGradGuard no_grad;
  for (auto [method, steps] : {std::pair{"euler", 10}, {"rk4", 5}}) {
    SolverOptions options{method, steps};
    Solution solution = solve(velocity_of(*model_), golden_.at("noise"), 0.0, 1.0, options);
    EXPECT_LT(relative_error(solution.x, golden_.at(method)), 1e-5) << method;
  }
}

INSTANTIATE_TEST_SUITE_P(Twin, Parity, ::testing::Values("seed-mlp", "mlp", "unet"));

}  // namespace
}  // namespace flowmatch
