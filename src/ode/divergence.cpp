#include "flowmatch/ode/divergence.h"

#include <torch/torch.h>

#include "flowmatch/core/error.h"

namespace flowmatch {

at::Tensor exact_divergence(const at::Tensor& v, const at::Tensor& x, bool create_graph) {
  at::Tensor div = torch::zeros({x.size(0)}, x.options());
  for (int64_t i = 0; i < x.size(1); ++i) {
    // d(sum_b v_bi)/dx_b = row i of point b's Jacobian; its i-th entry is dv_i/dx_i.
    at::Tensor row = torch::autograd::grad({v.select(1, i).sum()}, {x}, {}, /*retain_graph=*/true, create_graph)[0];
    div = div + row.select(1, i);
  }
  return div;
}

at::Tensor hutchinson_divergence(const at::Tensor& v, const at::Tensor& x, const at::Tensor& probes, bool create_graph) {
  at::Tensor div = torch::zeros({x.size(0)}, x.options());
  for (int64_t k = 0; k < probes.size(0); ++k) {
    const at::Tensor eps = probes[k];
    at::Tensor eps_jacobian = torch::autograd::grad({v}, {x}, {eps}, /*retain_graph=*/true, create_graph)[0];  // epsᵀ dv/dx
    div = div + (eps_jacobian * eps).sum(1);
  }
  return div / double(probes.size(0));
}

at::Tensor draw_probes(const std::string& kind, int64_t k, int64_t b, int64_t d, at::Generator& gen,
                       const at::TensorOptions& options) {
  if (kind == "rademacher") return torch::randint(0, 2, {k, b, d}, gen, options) * 2 - 1;
  if (kind == "gaussian") return torch::randn({k, b, d}, gen, options);
  throw Error("unknown probe '" + kind + "' (choose rademacher or gaussian)");
}

}  // namespace flowmatch
