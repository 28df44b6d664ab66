#pragma once
#include <cstdint>

#include "flowmatch/native/activation.h"

namespace flowmatch::native {

// GroupNorm followed by an activation, forward only (sampling needs no gradient), in one pass
// over x [N, C, P] (NCHW, with P = H x W positions) after the statistics:
//   for each sample n and group g of C / G channels:  mu, s^2 = mean, variance over its channels and positions
//   y = act((x - mu) / sqrt(s^2 + eps) * gamma_c + beta_c)
// (the variance divides by the count, as GroupNorm's does). y may be x. The (n, g) blocks are split
// across OpenMP's threads.
void group_norm_activate(const float* x, int64_t batch, int64_t channels, int64_t positions, int64_t groups,
                         const float* gamma, const float* beta, double eps, Activation act, float* y);

}  // namespace flowmatch::native
