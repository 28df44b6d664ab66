#include "flowmatch/native/activation.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "flowmatch/core/error.h"
#include "flowmatch/native/vectorised.h"  // the loops below: AVX2 where the CPU has it

namespace flowmatch::native {

namespace {

// exp(x) by Cody and Waite's range reduction and Cephes's degree-6 polynomial:
//   x = n ln2 + r, |r| <= ln2 / 2,  exp(x) = 2^n (1 + r + r^2 P(r)),
// written without branches so that the compiler vectorises the loops that call it. x is clamped to
// [-80, 80], where neither exp(x) nor 1 / (1 + exp(x)) is subnormal: the vectorised loop computes
// both sides of the clamp, and a subnormal in either made it 10x slower here.
__attribute__((always_inline)) inline float exp_approx(float x) {
  x = x < -80.0f ? -80.0f : (x > 80.0f ? 80.0f : x);
  float n = (x * 1.44269504f + 12582912.0f) - 12582912.0f;  // round(x / ln2): 1.5 * 2^23 rounds away the fraction
  float r = x - n * 0.693359375f + n * 2.12194440e-4f;      // x - n ln2, ln2 in two parts
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  float y = p * r * r + r + 1.0f;
  int32_t bits = (int32_t(n) + 127) << 23;  // 2^n
  float scale;
  std::memcpy(&scale, &bits, sizeof scale);
  return y * scale;
}

__attribute__((always_inline)) inline float sigmoid(float z) { return 1.0f / (1.0f + exp_approx(-z)); }

constexpr float kInvSqrt2 = 0.70710678118654752f, kInvSqrt2Pi = 0.39894228040143268f;

FLOWMATCH_VECTORISED void silu_loop(const float* z, int64_t n, float* y) {
  for (int64_t i = 0; i < n; ++i) y[i] = z[i] * sigmoid(z[i]);
}
FLOWMATCH_VECTORISED void relu_loop(const float* z, int64_t n, float* y) {
  for (int64_t i = 0; i < n; ++i) y[i] = z[i] > 0.0f ? z[i] : 0.0f;
}
// Phi(z) = erfc(-z / sqrt 2) / 2, which keeps its small values for z << 0 where 1 + erf(z / sqrt 2) cancels.
float normal_cdf(float z) { return 0.5f * std::erfc(-z * kInvSqrt2); }

void gelu_loop(const float* z, int64_t n, float* y) {
  for (int64_t i = 0; i < n; ++i) y[i] = z[i] * normal_cdf(z[i]);
}

// silu'(z) = sigma(z) (1 + z (1 - sigma(z)))
FLOWMATCH_VECTORISED void silu_grad_loop(const float* z, const float* dy, int64_t n, float* dz) {
  for (int64_t i = 0; i < n; ++i) {
    float s = sigmoid(z[i]);
    dz[i] = dy[i] * s * (1.0f + z[i] * (1.0f - s));
  }
}
FLOWMATCH_VECTORISED void relu_grad_loop(const float* z, const float* dy, int64_t n, float* dz) {
  for (int64_t i = 0; i < n; ++i) dz[i] = z[i] > 0.0f ? dy[i] : 0.0f;
}
// gelu'(z) = Phi(z) + z phi(z)
void gelu_grad_loop(const float* z, const float* dy, int64_t n, float* dz) {
  for (int64_t i = 0; i < n; ++i) {
    dz[i] = dy[i] * (normal_cdf(z[i]) + z[i] * kInvSqrt2Pi * std::exp(-0.5f * z[i] * z[i]));
  }
}

FLOWMATCH_VECTORISED void add_bias_loop(float* z, const float* bias, int64_t rows, int64_t cols) {
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t j = 0; j < cols; ++j) z[r * cols + j] += bias[j];
}

}  // namespace

Activation activation_named(const std::string& name) {
  if (name == "silu") return Activation::SiLU;
  if (name == "relu") return Activation::ReLU;
  if (name == "gelu") return Activation::GELU;
  if (name == "identity") return Activation::Identity;
  throw Error("unknown activation '" + name + "' (choose silu, relu or gelu)");
}

void activate(const float* z, int64_t n, Activation act, float* y) {
  switch (act) {
    case Activation::Identity:
      if (y != z) std::memcpy(y, z, sizeof(float) * size_t(n));
      return;
    case Activation::ReLU: return relu_loop(z, n, y);
    case Activation::SiLU: return silu_loop(z, n, y);
    case Activation::GELU: return gelu_loop(z, n, y);
  }
}

void add_bias_and_activate(float* z, const float* bias, int64_t rows, int64_t cols, Activation act, float* y) {
  // Row blocks small enough to stay in L1 between the two passes.
  int64_t block = std::max<int64_t>(1, 2048 / std::max<int64_t>(cols, 1));
  for (int64_t r = 0; r < rows; r += block) {
    int64_t n = std::min(block, rows - r);
    add_bias_loop(z + r * cols, bias, n, cols);
    activate(z + r * cols, n * cols, act, y + r * cols);
  }
}

void activation_grad(const float* z, const float* dy, int64_t n, Activation act, float* dz) {
  switch (act) {
    case Activation::Identity:
      if (dz != dy) std::memcpy(dz, dy, sizeof(float) * size_t(n));
      return;
    case Activation::ReLU: return relu_grad_loop(z, dy, n, dz);
    case Activation::SiLU: return silu_grad_loop(z, dy, n, dz);
    case Activation::GELU: return gelu_grad_loop(z, dy, n, dz);
  }
}

}  // namespace flowmatch::native
