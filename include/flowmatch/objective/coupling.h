#pragma once
#include <ATen/core/Tensor.h>

#include <memory>
#include <string>

namespace flowmatch {

class AssignmentSolver;  // in coupling.cpp: LEMON's network simplex on one batch size

// How a training batch of source points x0 [B, D] is paired with target points x1 [B, D]:
//   independent  as drawn: the product coupling of the seed and of plain flow matching
//   ot           exact minibatch optimal transport: the permutation sigma that minimises
//                sum_i |x0_i - x1_sigma(i)|^2 (Tong et al. 2023; Pooladian et al. 2023), so every
//                point is used exactly once, none duplicated or dropped
// The ot coupling needs LEMON (liblemon-dev) at build time; optimal_transport_available() says.
class Coupling {
 public:
  explicit Coupling(const std::string& name = "independent");  // throws Error for an unknown name
  ~Coupling();
  Coupling(Coupling&&) noexcept;
  Coupling& operator=(Coupling&&) noexcept;

  const std::string& name() const { return name_; }
  // x1 reordered so that row i is paired with x0's row i.
  at::Tensor pair(const at::Tensor& x0, const at::Tensor& x1) const;

 private:
  std::string name_;
  mutable std::unique_ptr<AssignmentSolver> solver_;  // kept between batches of the same size
};

// The optimal assignment between two point sets of the same size [B, D]: sigma [B] long with
// sigma a permutation minimising sum_i |x0_i - x1_sigma(i)|^2 (network simplex on the bipartite
// min-cost flow; squared distances are rounded to integers at 2^-40 of the largest, as LEMON
// requires integer costs). Throws Error without LEMON.
at::Tensor optimal_assignment(const at::Tensor& x0, const at::Tensor& x1);

bool optimal_transport_available();

}  // namespace flowmatch
