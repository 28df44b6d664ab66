#pragma once
#include <cstdint>
#include <string>

namespace flowmatch::native {

// The element-wise activations of the MLPs, and their derivatives, vectorised (AVX2 where the CPU
// has it, chosen at run time). Their exponential is a polynomial within 2 ulp of exp (its argument
// clamped to [-80, 80]), so results agree with LibTorch's to about 1e-7 relative.
enum class Activation {
  Identity,
  ReLU,  // max(z, 0)
  SiLU,  // z sigma(z) = z / (1 + exp(-z))
  GELU,  // z Phi(z), LibTorch's exact form, computed as z erfc(-z / sqrt 2) / 2 (no cancellation for z << 0)
};
// "silu", "relu", "gelu" or "identity"; throws Error for another name.
Activation activation_named(const std::string& name);

// z += b row by row (z [rows, cols], b [cols]), then y = act(z); y may be z itself.
void add_bias_and_activate(float* z, const float* bias, int64_t rows, int64_t cols, Activation act, float* y);
// y = act(z) over n numbers; y may be z itself.
void activate(const float* z, int64_t n, Activation act, float* y);
// dz = dy * act'(z) over n numbers; dz may be dy itself.
void activation_grad(const float* z, const float* dy, int64_t n, Activation act, float* dz);

}  // namespace flowmatch::native
