#include "flowmatch/data/sbi_tasks.h"

#include <torch/torch.h>

#include <cmath>
#include <functional>

#include "flowmatch/core/error.h"
#include "flowmatch/core/registry.h"
#include "flowmatch/data/sbi_posteriors.h"

namespace flowmatch {

namespace {
const auto kTaskOptions = torch::TensorOptions().dtype(torch::kDouble);

// theta ~ U[-bound, bound]^dim.
at::Tensor uniform_box(int64_t n, int64_t dim, double bound, at::Generator& gen) {
  return (torch::rand({n, dim}, gen, kTaskOptions) * 2 - 1) * bound;
}

at::Tensor inside_box(const at::Tensor& theta, double bound) { return (theta.abs() <= bound).all(1); }

void check_observation(const SbiTask& task, const at::Tensor& observation) {
  if (observation.numel() != task.x_dim())
    throw Error(task.name() + " observations are " + std::to_string(task.x_dim()) + "-D, got " +
                std::to_string(observation.numel()) + " values");
  if (!torch::isfinite(observation).all().item<bool>()) throw Error("the observation holds NaN or infinite values");
}

class GaussianLinear : public SbiTask {
 public:
  std::string name() const override { return "gaussian-linear"; }
  int64_t theta_dim() const override { return 10; }
  int64_t x_dim() const override { return 10; }
  // sbibm's "scale" 0.1 is a variance: std sqrt(0.1).
  at::Tensor prior(int64_t n, at::Generator& gen) const override { return torch::randn({n, 10}, gen, kTaskOptions) * std::sqrt(0.1); }
  at::Tensor simulate(const at::Tensor& theta, at::Generator& gen) const override {
    return theta + torch::randn(theta.sizes(), gen, kTaskOptions) * std::sqrt(0.1);
  }
  // Prior N(0, a I) and likelihood N(theta, b I) with a = b = 0.1: posterior N(x_o a / (a + b), ab / (a + b) I).
  at::Tensor posterior(const at::Tensor& observation, int64_t n, at::Generator& gen) const override {
    check_observation(*this, observation);
    return observation.to(torch::kDouble).reshape({1, 10}) / 2 + torch::randn({n, 10}, gen, kTaskOptions) * std::sqrt(0.05);
  }
  at::Tensor in_support(const at::Tensor& theta) const override { return torch::ones({theta.size(0)}, torch::kBool); }
};

class TwoMoons : public SbiTask {
 public:
  std::string name() const override { return "two-moons"; }
  int64_t theta_dim() const override { return 2; }
  int64_t x_dim() const override { return 2; }
  at::Tensor prior(int64_t n, at::Generator& gen) const override { return uniform_box(n, 2, 1.0, gen); }
  at::Tensor simulate(const at::Tensor& theta, at::Generator& gen) const override {
    at::Tensor p = two_moons_crescent(theta.size(0), gen);
    at::Tensor t1 = theta.select(1, 0), t2 = theta.select(1, 1);
    return p + torch::stack({-(t1 + t2).abs() / std::sqrt(2.0), (t2 - t1) / std::sqrt(2.0)}, 1);
  }
  at::Tensor posterior(const at::Tensor& observation, int64_t n, at::Generator& gen) const override {
    check_observation(*this, observation);
    return two_moons_posterior(observation.to(torch::kDouble).flatten(), n, gen);
  }
  at::Tensor in_support(const at::Tensor& theta) const override { return inside_box(theta, 1.0); }
};

class GaussianMixture : public SbiTask {
 public:
  std::string name() const override { return "gaussian-mixture"; }
  int64_t theta_dim() const override { return 2; }
  int64_t x_dim() const override { return 2; }
  at::Tensor prior(int64_t n, at::Generator& gen) const override { return uniform_box(n, 2, 10.0, gen); }
  // x = theta + std * eps, std 1 or 0.1 with probability 1/2 each.
  at::Tensor simulate(const at::Tensor& theta, at::Generator& gen) const override {
    at::Tensor narrow = torch::rand({theta.size(0), 1}, gen, kTaskOptions) < 0.5;
    at::Tensor std = torch::where(narrow, torch::full({1}, 0.1, kTaskOptions), torch::ones({1}, kTaskOptions));
    return theta + std * torch::randn(theta.sizes(), gen, kTaskOptions);
  }
  // The likelihood is symmetric in x - theta, so under a flat prior the posterior is the same mixture
  // centred on x_o, cut to the prior's box (by rejection).
  at::Tensor posterior(const at::Tensor& observation, int64_t n, at::Generator& gen) const override {
    check_observation(*this, observation);
    at::Tensor x_o = observation.to(torch::kDouble).reshape({1, 2});
    return draw_inside([&](int64_t m) { return simulate(x_o.expand({m, 2}), gen); }, [&](const at::Tensor& theta) { return in_support(theta); }, n);
  }
  at::Tensor in_support(const at::Tensor& theta) const override { return inside_box(theta, 10.0); }
};

class Slcp : public SbiTask {
 public:
  std::string name() const override { return "slcp"; }
  int64_t theta_dim() const override { return 5; }
  int64_t x_dim() const override { return 8; }
  at::Tensor prior(int64_t n, at::Generator& gen) const override { return uniform_box(n, 5, 3.0, gen); }
  at::Tensor simulate(const at::Tensor& theta, at::Generator& gen) const override {
    at::Tensor chol = torch::linalg_cholesky(slcp_covariance(theta));           // [N, 2, 2]
    at::Tensor eps = torch::randn({theta.size(0), 4, 2, 1}, gen, kTaskOptions);
    at::Tensor draws = theta.slice(1, 0, 2).unsqueeze(1) + chol.unsqueeze(1).matmul(eps).squeeze(-1);  // m + L eps
    return draws.reshape({theta.size(0), 8});
  }
  at::Tensor posterior(const at::Tensor& observation, int64_t n, at::Generator& gen) const override {
    check_observation(*this, observation);
    return slcp_posterior(observation.to(torch::kDouble).flatten(), n, gen);
  }
  at::Tensor in_support(const at::Tensor& theta) const override { return inside_box(theta, 3.0); }
};

using TaskFactory = std::function<std::unique_ptr<SbiTask>()>;
const Registry<TaskFactory>& tasks() {
  static const Registry<TaskFactory> registry("task", {
      {"gaussian-linear", [] { return std::unique_ptr<SbiTask>(new GaussianLinear); }},
      {"two-moons", [] { return std::unique_ptr<SbiTask>(new TwoMoons); }},
      {"gaussian-mixture", [] { return std::unique_ptr<SbiTask>(new GaussianMixture); }},
      {"slcp", [] { return std::unique_ptr<SbiTask>(new Slcp); }},
  });
  return registry;
}
}  // namespace

std::vector<std::string> sbi_task_names() { return tasks().names(); }

std::unique_ptr<SbiTask> make_sbi_task(const std::string& name) { return tasks()[name](); }

}  // namespace flowmatch
