#pragma once
#include <ATen/core/Generator.h>
#include <ATen/core/Tensor.h>

namespace flowmatch {

// Energy distance between the distributions of two point sets a [N, D] and b [M, D]:
//   ED = 2 E|X - Y| - E|X - X'| - E|Y - Y'|,
// the within-set means taken over distinct pairs (unbiased, so it can dip just below 0).
// Computed in blocks, so memory stays small for large sets.
double energy_distance(const at::Tensor& a, const at::Tensor& b);

// Sliced Wasserstein-2: the mean over `projections` random unit directions theta of W2^2 between
// the 1-D projections a.theta and b.theta (compared at equal quantile levels), square-rooted.
double sliced_wasserstein2(const at::Tensor& a, const at::Tensor& b, int64_t projections, at::Generator& gen);

// Fréchet distance between Gaussians fitted to two feature sets a [N, F] and b [M, F] (N, M >= 2):
//   FD = |mu_a - mu_b|^2 + Tr(S_a) + Tr(S_b) - 2 Tr((S_a^1/2 S_b S_a^1/2)^1/2),
// the squared 2-Wasserstein distance between N(mu_a, S_a) and N(mu_b, S_b); in float64.
double frechet_distance(const at::Tensor& a, const at::Tensor& b);

}  // namespace flowmatch
