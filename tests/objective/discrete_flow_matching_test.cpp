#include "flowmatch/objective/discrete_flow_matching.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>

#include "flowmatch/objective/objective_registry.h"
#include "test_util.h"
#include "tiny_token_model.h"

namespace flowmatch {
namespace {

using testing::TinyTokenModel;

// n pairs drawn from probabilities [V, V].
at::Tensor draw_pairs(const at::Tensor& p, int64_t n, at::Generator& gen) {
  at::Tensor flat = torch::multinomial(p.flatten().to(torch::kFloat), n, true, gen);
  return torch::stack({flat.div(p.size(0), "floor"), flat.remainder(p.size(0))}, 1);
}

double entropy(const at::Tensor& p) {  // nats; 0 log 0 = 0
  at::Tensor q = p.flatten();
  return -(q * torch::where(q > 0, q.log(), torch::zeros_like(q))).sum().item<double>();
}

TEST(MixturePath, EachPositionShowsTheDataTokenWithProbabilityKappa) {
  at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(1);
  const int64_t n = 400000, vocabulary = 5;
  at::Tensor x1 = torch::randint(0, vocabulary, {n, 1}, gen, torch::kLong);
  const double t = 0.3;
  for (const auto& [scheduler, kappa] : std::vector<std::pair<std::string, double>>{
           {"condot", t}, {"poly", t * t}, {"cosine", std::sin(M_PI * t / 2)}}) {
    for (const std::string source : {"mask", "uniform"}) {
      MixturePath path = make_mixture_path(scheduler, 2.0, source, vocabulary);
      EXPECT_NEAR(path.kappa(torch::tensor({t}, torch::kDouble)).item<double>(), kappa, 1e-12) << scheduler;
      at::Tensor x_t = path.mix(path.draw_source(n, 1, gen), x1, torch::full({n}, t), torch::rand({n, 1}, gen));
      // p_t(x1 | x1) = kappa + (1 - kappa) p_0(x1): 0 from the mask, 1 / V from the uniform source
      const double expected = kappa + (1 - kappa) * (source == "mask" ? 0.0 : 1.0 / double(vocabulary));
      const double shown = (x_t == x1).to(torch::kDouble).mean().item<double>();
      EXPECT_NEAR(shown, expected, 4 * std::sqrt(expected * (1 - expected) / double(n))) << scheduler << ", " << source;
      if (source == "mask") EXPECT_TRUE(((x_t == x1) | (x_t == vocabulary)).all().item<bool>());
    }
  }
  EXPECT_NE(testing::error_of([] { make_mixture_path("vp", 2.0, "mask", 4); }).find("cannot make a mixture path"), std::string::npos);
  EXPECT_EQ(testing::error_of([] { make_mixture_path("condot", 2.0, "masked", 4); }),
            "unknown token source 'masked' (mask, uniform); did you mean mask?");
}

// With the true posterior as the model, the loss at time t is the data's conditional entropy given
// x_t, per position: from the mask source, both masked (1 - kappa)^2: H(A) + H(B); one revealed
// kappa (1 - kappa): H(B | A) + H(A | B); both revealed: 0.
TEST(DiscreteFlowMatching, TheTruePosteriorsLossIsTheConditionalEntropy) {
  at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(2);
  at::Tensor p = testing::tiny_pair_probabilities();
  TinyTokenModel model(p, "mask");
  ObjectiveOptions options;
  options.name = "discrete-flow-matching";
  auto objective = make_objective(options);
  const int64_t n = 200000;
  PairBatch pairs;
  pairs.x1 = draw_pairs(p, n, gen);
  pairs.x0 = torch::full({n, 2}, 3, torch::kLong);
  TrainingTimes times = objective->draw_times(pairs, gen);
  ASSERT_EQ(times.reveal.sizes(), pairs.x1.sizes());
  const double kappa = 0.4;
  times.t = torch::full({n}, kappa);
  const double h_a = entropy(p.sum(1)), h_b = entropy(p.sum(0)), h_ab = entropy(p);
  const double expected = ((1 - kappa) * (1 - kappa) * (h_a + h_b) + kappa * (1 - kappa) * ((h_ab - h_a) + (h_ab - h_b))) / 2;
  EXPECT_NEAR(objective->loss(model, pairs, {}, times).item<double>(), expected, 0.01);
}

// The bound is tight for the mask source when the model is the true posterior: the masked chain is
// Markov, so KL(the path given x1 || the model's chain) = -log p(x1).
TEST(DiscreteFlowMatching, TheBoundOfTheTruePosteriorIsTheExactNegativeLogLikelihood) {
  at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(3);
  at::Tensor p = testing::tiny_pair_probabilities();
  const int64_t copies = 4000;
  for (const std::string source : {"mask", "uniform"}) {
    TinyTokenModel model(p, source);
    MixturePath path = testing::condot_mixture(source, 3);
    for (int64_t a = 0; a < 3; ++a)
      for (int64_t b = 0; b < 3; ++b) {
        if (p[a][b].item<double>() == 0) continue;
        at::Tensor x1 = torch::tensor({a, b}, torch::kLong).repeat({copies, 1});
        at::Tensor bound = negative_elbo(model, path, x1, 8, gen);
        const double nll = -std::log(p[a][b].item<double>()), mean = bound.mean().item<double>();
        const double se = bound.std().item<double>() / std::sqrt(double(copies));
        if (source == "mask") EXPECT_NEAR(mean, nll, 4 * se + 0.01) << a << b;
        else EXPECT_GT(mean, nll - 4 * se) << "a bound on -log p(" << a << b << ")";  // the uniform chain is not Markov: a bound
      }
  }
}

}  // namespace
}  // namespace flowmatch
