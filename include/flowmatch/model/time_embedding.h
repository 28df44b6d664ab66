#pragma once
#include <ATen/core/Tensor.h>

namespace flowmatch {

// Sinusoidal embedding of time: with s = t * scale and frequencies f_k = exp(-k ln(10000) / (dim/2 - 1)),
// k = 0 .. dim/2 - 1, returns [sin(s f_k) for all k, cos(s f_k) for all k], shape [B, dim].
// The frequencies are computed once per model, not per call.
at::Tensor sinusoidal_frequencies(int64_t dim);
at::Tensor sinusoidal_embedding(const at::Tensor& t, const at::Tensor& frequencies, double scale);

// Polynomials for smooth functions of t in [0, 1] (with a constant): the Chebyshev polynomials
// [T_k(2t - 1) for k = 1 .. count], [B, count]; T_1(u) = u, T_2(u) = 2u^2 - 1, T_{k+1} = 2u T_k - T_{k-1}.
at::Tensor chebyshev_basis(const at::Tensor& t, int64_t count);

}  // namespace flowmatch
