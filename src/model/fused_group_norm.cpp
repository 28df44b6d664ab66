#include "flowmatch/model/fused_group_norm.h"

#include <torch/torch.h>

#include "flowmatch/native/group_norm.h"

namespace flowmatch {

at::Tensor silu_of_group_norm(torch::nn::GroupNormImpl& norm, const at::Tensor& x, bool native) {
  const auto& o = norm.options;
  bool graph = at::GradMode::is_enabled() && (x.requires_grad() || (o.affine() && norm.weight.requires_grad()));
  if (!native || graph || !o.affine() || x.dim() != 4 || x.scalar_type() != at::kFloat || !x.device().is_cpu() ||
      norm.weight.scalar_type() != at::kFloat)
    return torch::silu(norm.forward(x));
  at::Tensor input = x.contiguous(), y = torch::empty_like(input);
  at::Tensor gamma = norm.weight.contiguous(), beta = norm.bias.contiguous();
  native::group_norm_activate(input.data_ptr<float>(), x.size(0), x.size(1), x.size(2) * x.size(3), o.num_groups(),
                              gamma.data_ptr<float>(), beta.data_ptr<float>(), o.eps(), native::Activation::SiLU,
                              y.data_ptr<float>());
  return y;
}

}  // namespace flowmatch
