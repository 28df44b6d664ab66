#pragma once
#include <torch/nn/modules/conv.h>

namespace flowmatch {

// conv(x) for a 3 x 3 torch::nn::Conv2d with stride 1 and padding 1. With `winograd`, it runs on
// oneDNN's Winograd kernels (native/winograd_convolution.h) where they take the shape in float32 on
// this CPU, as an autograd function with gradients for x, the weight and the bias; otherwise, and
// always for other convolutions, it is the module's own forward. Both compute the same convolution,
// to about 1e-6 relative (tests/model/winograd_conv_test.cpp).
at::Tensor conv3x3(torch::nn::Conv2dImpl& conv, const at::Tensor& x, bool winograd);

// Whether oneDNN has Winograd kernels on this CPU for a 3 x 3 convolution from `in` to `out` channels
// on H x W images.
bool winograd_available(int64_t in, int64_t out, int64_t height, int64_t width);

}  // namespace flowmatch
