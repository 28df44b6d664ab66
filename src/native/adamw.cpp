#include "flowmatch/native/adamw.h"

#include <cmath>

#include "flowmatch/native/vectorised.h"

namespace flowmatch::native {

// Two divisions and a square root per value bound the pass more than memory does: AVX2 halves it.
FLOWMATCH_VECTORISED void adamw_step(const AdamWStep& step, float* p, float* g, float* m, float* v, float* ema, int64_t n) {
  // The scalars as torch's in-place tensor ops take them: computed in double, applied in float.
  const float decay = float(1.0 - step.lr * step.weight_decay), b1 = float(step.beta1), b2 = float(step.beta2);
  const float one_minus_b1 = float(1.0 - step.beta1), one_minus_b2 = float(1.0 - step.beta2);
  const float sqrt_correction2 = float(std::sqrt(1.0 - std::pow(step.beta2, double(step.k))));
  const float step_size = float(step.lr / (1.0 - std::pow(step.beta1, double(step.k))));
  const float eps = float(step.eps), clip = float(step.clip), w = float(1.0 - step.ema_decay);
  const bool low = w < 0.5f;  // lerp(a, b, w) = a + w (b - a) for w < 1/2, else b - (1 - w)(b - a), as ATen's
  for (int64_t i = 0; i < n; ++i) {
    float gi = g[i] * clip;
    float pi = p[i] * decay;
    float mi = m[i] * b1 + one_minus_b1 * gi;
    float vi = v[i] * b2 + one_minus_b2 * gi * gi;
    pi -= step_size * (mi / (std::sqrt(vi) / sqrt_correction2 + eps));
    p[i] = pi;
    m[i] = mi;
    v[i] = vi;
    g[i] = 0.0f;
    if (ema) ema[i] = low ? ema[i] + w * (pi - ema[i]) : pi - (1.0f - w) * (pi - ema[i]);
  }
}

double sum_of_squares(const float* g, int64_t n) {
  double sum = 0;
  for (int64_t i = 0; i < n; ++i) sum += double(g[i]) * double(g[i]);
  return sum;
}

}  // namespace flowmatch::native
