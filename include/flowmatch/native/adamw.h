#pragma once
#include <cstdint>

namespace flowmatch::native {

// One step of AdamW (Loshchilov & Hutter, decoupled weight decay), as torch::optim::AdamW computes
// it, with clipping before it and the EMA after it, in one pass over flat float buffers of n values:
//   g <- c g                                       (c: the clipping factor, 1 when not clipping)
//   p <- p (1 - lr wd)
//   m <- b1 m + (1 - b1) g,   v <- b2 v + (1 - b2) g^2
//   p <- p - lr / (1 - b1^k) * m / (sqrt(v) / sqrt(1 - b2^k) + eps)      (k: this step's number, from 1)
//   ema <- lerp(ema, p, 1 - d)                     (when ema is not null; d: the EMA's decay this step)
//   g <- 0                                         (so that the next backward pass adds into zeros)
struct AdamWStep {
  double lr = 1e-3, weight_decay = 0, beta1 = 0.9, beta2 = 0.999, eps = 1e-8;
  int64_t k = 1;
  double clip = 1;       // c
  double ema_decay = 0;  // d
};
void adamw_step(const AdamWStep& step, float* p, float* g, float* m, float* v, float* ema, int64_t n);

// sum of g_i^2, in double
double sum_of_squares(const float* g, int64_t n);

}  // namespace flowmatch::native
