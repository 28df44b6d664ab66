// The native activations against their formulas in double precision, over the range where the
// networks' pre-activations live and past the clamp of the exponential.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "flowmatch/native/activation.h"

namespace flowmatch::native {
namespace {

struct Exact {
  double value, derivative;
};

Exact exact(Activation act, double z) {
  double sigma = 1.0 / (1.0 + std::exp(-z)), cdf = 0.5 * std::erfc(-z / std::sqrt(2.0));
  switch (act) {
    case Activation::SiLU: return {z * sigma, sigma * (1.0 + z * (1.0 - sigma))};
    case Activation::GELU: return {z * cdf, cdf + z * std::exp(-0.5 * z * z) / std::sqrt(2.0 * M_PI)};
    case Activation::ReLU: return {z > 0 ? z : 0.0, z > 0 ? 1.0 : 0.0};
    case Activation::Identity: return {z, 1.0};
  }
  return {};
}

TEST(NativeActivation, MatchesItsFormulaAndDerivative) {
  std::vector<float> z;
  for (int i = -3000; i <= 3000; ++i) z.push_back(float(i) * 0.01f);  // -30 .. 30, and its odd length leaves a vector tail
  for (float far : {-200.0f, -85.0f, 85.0f, 200.0f}) z.push_back(far);
  int64_t n = int64_t(z.size());
  for (Activation act : {Activation::SiLU, Activation::GELU, Activation::ReLU, Activation::Identity}) {
    std::vector<float> y(z.size()), ones(z.size(), 1.0f), dz(z.size());
    activate(z.data(), n, act, y.data());
    activation_grad(z.data(), ones.data(), n, act, dz.data());
    for (int64_t i = 0; i < n; ++i) {
      Exact e = exact(act, z[i]);
      // Within 1e-5 of the value's size (in gelu's far tail the float rounding of z / sqrt 2 alone moves
      // erfc by a few 1e-6), or 1e-25 absolute where it vanishes (gelu(-12) is a subnormal float;
      // silu(-85) is clamped to -85 e^-80).
      EXPECT_NEAR(y[i], e.value, 1e-5 * std::abs(e.value) + 1e-25) << "z = " << z[i] << ", activation " << int(act);
      EXPECT_NEAR(dz[i], e.derivative, 1e-6 * std::abs(e.derivative) + 2e-6) << "z = " << z[i] << ", activation " << int(act);
    }
  }
}

TEST(NativeActivation, AddsTheBiasRowByRow) {
  std::vector<float> z = {1, 2, 3, 4, 5, 6}, bias = {10, 20, 30}, y(6);
  add_bias_and_activate(z.data(), bias.data(), 2, 3, Activation::ReLU, y.data());
  EXPECT_EQ(y, (std::vector<float>{11, 22, 33, 14, 25, 36}));
  EXPECT_EQ(z, y);  // z holds the pre-activation, here equal
}

}  // namespace
}  // namespace flowmatch::native
