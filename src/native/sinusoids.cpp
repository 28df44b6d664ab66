#include "flowmatch/native/sinusoids.h"

#include <cblas.h>

#include <cmath>

namespace flowmatch::native {

namespace {
constexpr float kTwoPi = float(2 * M_PI);
}

void sinusoidal_embedding(const float* t, int64_t rows, float scale, const float* frequencies, int64_t half, float* emb) {
  for (int64_t r = 0; r < rows; ++r) {
    float a = t[r] * scale;
    float* e = emb + r * 2 * half;
    for (int64_t i = 0; i < half; ++i) {
      float angle = a * frequencies[i];
      e[i] = std::sin(angle);
      e[half + i] = std::cos(angle);
    }
  }
}

void chebyshev_basis(const float* t, int64_t rows, int64_t count, float* y) {
  for (int64_t r = 0; r < rows; ++r) {
    float u = 2 * t[r] - 1, previous = 1, current = u;
    for (int64_t k = 1; k <= count; ++k) {
      y[r * count + k - 1] = current;
      float next = 2 * u * current - previous;  // T_{k+1} = 2u T_k - T_{k-1}
      previous = current;
      current = next;
    }
  }
}

void fourier_features(const float* x, int64_t rows, int64_t dim, const float* basis, int64_t features, float* f) {
  int64_t width = dim + 2 * features;
  // The phases x B go into the cos block first, then become sin and cos in place.
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, int(rows), int(features), int(dim), 1.0f, x, int(dim), basis,
              int(features), 0.0f, f + dim + features, int(width));
  for (int64_t r = 0; r < rows; ++r) {
    float* row = f + r * width;
    for (int64_t j = 0; j < dim; ++j) row[j] = x[r * dim + j];
    float *sin_part = row + dim, *cos_part = row + dim + features;
    for (int64_t i = 0; i < features; ++i) {
      float phase = cos_part[i] * kTwoPi;
      sin_part[i] = std::sin(phase);
      cos_part[i] = std::cos(phase);
    }
  }
}

void fourier_features_grad(const float* f, const float* df, int64_t rows, int64_t dim, const float* basis, int64_t features,
                           float* scratch, float* dx) {
  int64_t width = dim + 2 * features;
  for (int64_t r = 0; r < rows; ++r) {
    const float *row = f + r * width, *grad = df + r * width;
    for (int64_t j = 0; j < dim; ++j) dx[r * dim + j] = grad[j];
    for (int64_t i = 0; i < features; ++i)  // d/dphase of sin and cos
      scratch[r * features + i] = grad[dim + i] * row[dim + features + i] - grad[dim + features + i] * row[dim + i];
  }
  // dx += scratch (2 pi B^T), B [D, F]
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, int(rows), int(dim), int(features), kTwoPi, scratch, int(features), basis,
              int(features), 1.0f, dx, int(dim));
}

}  // namespace flowmatch::native
