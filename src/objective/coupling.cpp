#include "flowmatch/objective/coupling.h"

#include <torch/torch.h>

#include <cmath>
#include <functional>
#include <utility>
#include <vector>

#include "flowmatch/core/error.h"
#include "flowmatch/core/registry.h"

#ifdef FLOWMATCH_HAVE_LEMON
#include <lemon/network_simplex.h>
#include <lemon/static_graph.h>
#endif

namespace flowmatch {

#ifdef FLOWMATCH_HAVE_LEMON
// The complete bipartite digraph of one batch size: sources 0..B-1, targets B..2B-1, arc i*B + j
// from source i to target j. Built once and reused while the batch size stays the same.
class AssignmentSolver {
 public:
  explicit AssignmentSolver(int b) : size(b) {
    std::vector<std::pair<int, int>> arcs;
    arcs.reserve(size_t(b) * size_t(b));
    for (int i = 0; i < b; ++i)
      for (int j = 0; j < b; ++j) arcs.emplace_back(i, b + j);
    graph.build(2 * b, arcs.begin(), arcs.end());
  }

  // sigma minimising sum_i cost[i, sigma(i)]: a min-cost flow with supply +1 at every source and
  // -1 at every target. The assignment polytope has integer vertices, so the flow is a permutation.
  at::Tensor assign(const at::Tensor& cost) {
    const double* c = cost.data_ptr<double>();
    double largest = cost.max().item<double>();
    double to_integer = largest > 0 ? std::ldexp(1.0, 40) / largest : 0.0;
    lemon::StaticDigraph::ArcMap<int64_t> arc_cost(graph);
    for (int a = 0; a < size * size; ++a) arc_cost[lemon::StaticDigraph::arc(a)] = std::llround(c[a] * to_integer);
    lemon::StaticDigraph::NodeMap<int> supply(graph);
    for (int i = 0; i < size; ++i) {
      supply[lemon::StaticDigraph::node(i)] = 1;
      supply[lemon::StaticDigraph::node(size + i)] = -1;
    }
    lemon::NetworkSimplex<lemon::StaticDigraph, int, int64_t> simplex(graph);
    if (simplex.costMap(arc_cost).supplyMap(supply).run() != simplex.OPTIMAL)
      throw Error("optimal transport: the network simplex found no optimal assignment");
    at::Tensor sigma = torch::empty({size}, torch::kLong);
    auto s = sigma.accessor<int64_t, 1>();
    for (int i = 0; i < size; ++i)
      for (int j = 0; j < size; ++j)
        if (simplex.flow(lemon::StaticDigraph::arc(i * size + j)) > 0) s[i] = j;
    return sigma;
  }

  int size;
  lemon::StaticDigraph graph;
};
bool optimal_transport_available() { return true; }
#else
class AssignmentSolver {
 public:
  explicit AssignmentSolver(int) { throw Error("the ot coupling needs LEMON: install liblemon-dev and rebuild flowmatch"); }
  at::Tensor assign(const at::Tensor&) { return {}; }
  int size = 0;
};
bool optimal_transport_available() { return false; }
#endif

namespace {
// |x0_i - x1_j|^2 for all i, j, in float64: [B, B], contiguous.
at::Tensor squared_distances(const at::Tensor& x0, const at::Tensor& x1) {
  at::Tensor a = x0.to(torch::kDouble).flatten(1), b = x1.to(torch::kDouble).flatten(1);
  return (a.pow(2).sum(1, true) + b.pow(2).sum(1).unsqueeze(0) - 2 * torch::matmul(a, b.t())).clamp_min(0).contiguous();
}

void check_pair_shapes(const at::Tensor& x0, const at::Tensor& x1) {
  if (x0.dim() < 2 || x0.sizes() != x1.sizes())
    throw Error("a coupling pairs batches of the same shape [B, ...], got " + c10::str(x0.sizes()) + " and " +
                c10::str(x1.sizes()));
}

class IndependentCoupling : public Coupling {
 public:
  std::string name() const override { return "independent"; }
  at::Tensor pair(const at::Tensor& x0, const at::Tensor& x1) const override {
    check_pair_shapes(x0, x1);
    return x1;
  }
};

class OptimalTransportCoupling : public Coupling {
 public:
  OptimalTransportCoupling() {
    if (!optimal_transport_available()) AssignmentSolver(0);  // throws the install hint
  }
  std::string name() const override { return "ot"; }
  at::Tensor pair(const at::Tensor& x0, const at::Tensor& x1) const override {
    check_pair_shapes(x0, x1);
    int b = int(x0.size(0));
    if (!solver_ || solver_->size != b) solver_ = std::make_unique<AssignmentSolver>(b);
    return x1.index_select(0, solver_->assign(squared_distances(x0, x1)));
  }

 private:
  mutable std::unique_ptr<AssignmentSolver> solver_;  // kept between batches of the same size
};

using CouplingFactory = std::function<std::unique_ptr<Coupling>()>;

// One entry per coupling.
const Registry<CouplingFactory>& couplings() {
  static const Registry<CouplingFactory> registry(
      "coupling", {
                      {"independent", [] { return std::make_unique<IndependentCoupling>(); }},
                      {"ot", [] { return std::make_unique<OptimalTransportCoupling>(); }},
                  });
  return registry;
}
}  // namespace

std::vector<std::string> coupling_names() { return couplings().names(); }

std::unique_ptr<Coupling> make_coupling(const std::string& name) { return couplings()[name](); }

at::Tensor optimal_assignment(const at::Tensor& x0, const at::Tensor& x1) {
  check_pair_shapes(x0, x1);
  return AssignmentSolver(int(x0.size(0))).assign(squared_distances(x0, x1));
}

}  // namespace flowmatch
