#include "flowmatch/native/group_norm.h"

#include <omp.h>

#include <cmath>

#include "flowmatch/native/row_split.h"
#include "flowmatch/native/vectorised.h"

namespace flowmatch::native {

namespace {
// the mean and the variance (divided by n) of x, in two passes; each pass sums in vector lanes
FLOWMATCH_VECTORISED void mean_and_variance(const float* x, int64_t n, float& mean, float& variance) {
  float sum = 0, squares = 0;
#pragma omp simd reduction(+ : sum)
  for (int64_t i = 0; i < n; ++i) sum += x[i];
  const float mu = sum / float(n);
#pragma omp simd reduction(+ : squares)
  for (int64_t i = 0; i < n; ++i) squares += (x[i] - mu) * (x[i] - mu);
  mean = mu;
  variance = squares / float(n);
}

// y = scale x + shift
FLOWMATCH_VECTORISED void scale_and_shift(const float* x, int64_t n, float scale, float shift, float* y) {
  for (int64_t i = 0; i < n; ++i) y[i] = scale * x[i] + shift;
}
}  // namespace

void group_norm_activate(const float* x, int64_t batch, int64_t channels, int64_t positions, int64_t groups,
                         const float* gamma, const float* beta, double eps, Activation act, float* y) {
  const int64_t per_group = channels / groups, count = per_group * positions;
  split_rows(batch * groups, row_parts(batch * groups, omp_get_max_threads(), 1), [&](int, int64_t begin, int64_t end) {
    for (int64_t block = begin; block < end; ++block) {  // block = n G + g: its channels lie together in NCHW
      const float* in = x + block * count;
      float* out = y + block * count;
      float mean, variance;
      mean_and_variance(in, count, mean, variance);
      const double inverse_std = 1.0 / std::sqrt(double(variance) + eps);  // 1 / sqrt(s^2 + eps)
      for (int64_t k = 0; k < per_group; ++k) {
        int64_t c = (block % groups) * per_group + k;
        double scale = inverse_std * gamma[c];  // y = act(scale x + beta_c - mu scale)
        scale_and_shift(in + k * positions, positions, float(scale), float(beta[c] - mean * scale), out + k * positions);
        activate(out + k * positions, positions, act, out + k * positions);
      }
    }
  });
}

}  // namespace flowmatch::native
