// Minibatch optimal transport against brute force and known optimal assignments.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <algorithm>
#include <numeric>

#include "flowmatch/core/error.h"
#include "flowmatch/objective/coupling.h"
#include "test_util.h"

namespace flowmatch {
namespace {

double assignment_cost(const at::Tensor& x0, const at::Tensor& x1, const std::vector<int64_t>& sigma) {
  double cost = 0;
  for (size_t i = 0; i < sigma.size(); ++i) cost += (x0[i] - x1[sigma[i]]).pow(2).sum().item<double>();
  return cost;
}

std::vector<int64_t> as_vector(const at::Tensor& sigma) {
  return std::vector<int64_t>(sigma.data_ptr<int64_t>(), sigma.data_ptr<int64_t>() + sigma.numel());
}

TEST(OptimalAssignment, MatchesBruteForceOverAllPermutations) {
  if (!optimal_transport_available()) GTEST_SKIP() << "built without LEMON";
  at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(1);
  for (int trial = 0; trial < 5; ++trial) {
    at::Tensor x0 = torch::randn({7, 2}, gen), x1 = torch::randn({7, 2}, gen) * 3;
    std::vector<int64_t> perm(7);
    std::iota(perm.begin(), perm.end(), 0);
    double best = 1e300;
    do best = std::min(best, assignment_cost(x0, x1, perm));
    while (std::next_permutation(perm.begin(), perm.end()));
    double found = assignment_cost(x0, x1, as_vector(optimal_assignment(x0, x1)));
    EXPECT_NEAR(found, best, 1e-9 * best) << "trial " << trial;
  }
}

// In 1-D, the squared-distance optimal plan is monotone: the k-th smallest x0 goes to the k-th smallest x1.
TEST(OptimalAssignment, IsTheSortedMatchingInOneDimension) {
  if (!optimal_transport_available()) GTEST_SKIP() << "built without LEMON";
  at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(2);
  at::Tensor x0 = torch::randn({300, 1}, gen), x1 = torch::rand({300, 1}, gen) * 10 - 2;
  at::Tensor paired = x1.index_select(0, optimal_assignment(x0, x1)).squeeze(1);
  at::Tensor order = std::get<1>(x0.squeeze(1).sort());
  at::Tensor along = paired.index_select(0, order);
  EXPECT_TRUE((along.slice(0, 1) >= along.slice(0, 0, -1)).all().item<bool>());
}

TEST(Coupling, OtPairsEveryPointOnceAndLowersTheCost) {
  if (!optimal_transport_available()) GTEST_SKIP() << "built without LEMON";
  at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(3);
  std::unique_ptr<Coupling> ot = make_coupling("ot");
  for (int64_t b : {256, 64, 256}) {  // the solver is rebuilt when the batch size changes
    at::Tensor x0 = torch::randn({b, 2}, gen), x1 = torch::randn({b, 2}, gen) + 2;
    at::Tensor sigma = optimal_assignment(x0, x1);
    EXPECT_TRUE(std::get<0>(sigma.sort()).equal(torch::arange(b)));  // a permutation: none dropped or repeated
    at::Tensor paired = ot->pair(x0, x1);
    EXPECT_TRUE(paired.equal(x1.index_select(0, sigma)));
    double optimal = (x0 - paired).pow(2).sum().item<double>();
    EXPECT_LT(optimal, (x0 - x1).pow(2).sum().item<double>());
    for (int k = 0; k < 20; ++k) {
      at::Tensor shuffled = x1.index_select(0, torch::randperm(b, gen, torch::kLong));
      EXPECT_LE(optimal, (x0 - shuffled).pow(2).sum().item<double>() + 1e-9);
    }
  }
  // A translated copy is matched to itself.
  at::Tensor x0 = torch::randn({100, 3}, gen);
  EXPECT_TRUE(optimal_assignment(x0, x0 + 0.1).equal(torch::arange(100)));
}

TEST(Coupling, IndependentKeepsTheDrawAndBadInputIsRefused) {
  at::Tensor x0 = torch::randn({10, 2}), x1 = torch::randn({10, 2});
  EXPECT_TRUE(make_coupling("independent")->pair(x0, x1).equal(x1));
  EXPECT_EQ(testing::error_of([] { make_coupling("sinkhorn"); }), "unknown coupling 'sinkhorn' (choose independent or ot)");
  EXPECT_THROW(make_coupling("independent")->pair(x0, torch::randn({9, 2})), Error);
}

}  // namespace
}  // namespace flowmatch
