#pragma once
#include <ATen/core/Tensor.h>

#include <memory>
#include <string>
#include <vector>

namespace flowmatch {

// How a training batch of source points x0 [B, D] is paired with target points x1 [B, D]:
//   independent  as drawn: the product coupling of the seed and of plain flow matching
//   ot           exact minibatch optimal transport: the permutation sigma that minimises
//                sum_i |x0_i - x1_sigma(i)|^2 (Tong et al. 2023; Pooladian et al. 2023), so every
//                point is used exactly once, none duplicated or dropped
// The ot coupling needs LEMON (liblemon-dev) at build time; optimal_transport_available() says.
class Coupling {
 public:
  virtual ~Coupling() = default;
  virtual std::string name() const = 0;
  // x1 reordered so that row i is paired with x0's row i; throws Error unless both are [B, ...] alike.
  virtual at::Tensor pair(const at::Tensor& x0, const at::Tensor& x1) const = 0;
};

// independent, ot: one entry each in coupling.cpp's table.
std::vector<std::string> coupling_names();
// Throws Error for an unknown name, and for ot without LEMON (naming the package to install).
std::unique_ptr<Coupling> make_coupling(const std::string& name);

// The optimal assignment between two point sets of the same size [B, D]: sigma [B] long with
// sigma a permutation minimising sum_i |x0_i - x1_sigma(i)|^2 (network simplex on the bipartite
// min-cost flow; squared distances are rounded to integers at 2^-40 of the largest, as LEMON
// requires integer costs). Throws Error without LEMON.
at::Tensor optimal_assignment(const at::Tensor& x0, const at::Tensor& x1);

bool optimal_transport_available();

}  // namespace flowmatch
