#pragma once
#include <cstdint>

namespace flowmatch::native {

// The MLPs' sinusoidal inputs on row-major float buffers, computed in the order LibTorch's modules
// compute them (model/time_embedding.h, model/residual_mlp.h), so the two agree to float rounding.

// The time embedding of t_r * scale with frequencies f [half]:
//   emb [rows, 2 half] = [sin(a_r f_i), cos(a_r f_i)],  a_r = t_r * scale
void sinusoidal_embedding(const float* t, int64_t rows, float scale, const float* frequencies, int64_t half, float* emb);

// Chebyshev polynomials of t_r: y [rows, count] = [T_k(2 t_r - 1)], k = 1 .. count (model/time_embedding.h).
void chebyshev_basis(const float* t, int64_t rows, int64_t count, float* y);

// Random Fourier features of x [rows, D] with a fixed basis B [D, F]:
//   f [rows, D + 2F] = [x, sin(2 pi x B), cos(2 pi x B)]
void fourier_features(const float* x, int64_t rows, int64_t dim, const float* basis, int64_t features, float* f);
// Their input gradient, from f and its gradient df [rows, D + 2F]:
//   dx = df_x + (df_sin * cos - df_cos * sin) 2 pi B^T,
// using `scratch` [rows, F].
void fourier_features_grad(const float* f, const float* df, int64_t rows, int64_t dim, const float* basis, int64_t features,
                           float* scratch, float* dx);

}  // namespace flowmatch::native
