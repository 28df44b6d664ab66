#pragma once
#include <torch/nn/modules/normalization.h>

namespace flowmatch {

// silu(norm(x)) for a torch::nn::GroupNorm on NCHW images. With `native`, and where no gradient is
// asked for (sampling), it is one pass of native/group_norm.h after the statistics; otherwise the two
// LibTorch modules, whose autograd training uses. Both agree to about 1e-6 relative
// (tests/model/winograd_conv_test.cpp).
at::Tensor silu_of_group_norm(torch::nn::GroupNormImpl& norm, const at::Tensor& x, bool native);

}  // namespace flowmatch
