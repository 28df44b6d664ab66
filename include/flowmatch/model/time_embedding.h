#pragma once
#include <ATen/core/Tensor.h>

namespace flowmatch {

// Sinusoidal embedding of time: with s = t * scale and frequencies f_k = exp(-k ln(10000) / (dim/2 - 1)),
// k = 0 .. dim/2 - 1, returns [sin(s f_k) for all k, cos(s f_k) for all k], shape [B, dim].
// The frequencies are computed once per model, not per call.
at::Tensor sinusoidal_frequencies(int64_t dim);
at::Tensor sinusoidal_embedding(const at::Tensor& t, const at::Tensor& frequencies, double scale);

}  // namespace flowmatch
