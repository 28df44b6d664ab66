#pragma once
#include <ATen/core/Tensor.h>

#include <cstdint>

namespace flowmatch {

// How much the entries of z (any shape) look like independent N(0, 1) draws, as the noise that
// inversion finds for held-out data should: their mean, variance, skewness and excess kurtosis (0,
// 1, 0 and 0 for N(0, 1)), and the Kolmogorov-Smirnov distance sup |F_n(x) - Phi(x)| between their
// empirical distribution and N(0, 1), beside its 1 % critical value 1.628 / sqrt(n) (Smirnov's
// asymptotic quantile): a distance below it is what n normal draws would show 99 times in 100.
struct Normality {
  int64_t values = 0;
  double mean = 0, variance = 0, skewness = 0, excess_kurtosis = 0;
  double ks_distance = 0, ks_critical_1pct = 0;
};
Normality normality_of(const at::Tensor& z);

}  // namespace flowmatch
