#pragma once
// |got - expected| / |expected| in the L2 norm over all entries: how the native engine is held to
// the LibTorch path it mirrors.
#include <ATen/ATen.h>

#include <algorithm>

namespace flowmatch::testing {

inline double relative_difference(const at::Tensor& got, const at::Tensor& expected) {
  return (got - expected).norm().item<double>() / std::max(expected.norm().item<double>(), 1e-30);
}

}  // namespace flowmatch::testing
