#pragma once
#include <cstdint>
#include <memory>

namespace flowmatch::native {

// The size of a 3 x 3 convolution with stride 1 and padding 1 on a batch of NCHW images.
struct Conv3x3Shape {
  int64_t batch, in_channels, out_channels, height, width;
  bool operator<(const Conv3x3Shape& o) const;
};

// A 3 x 3 convolution (stride 1, padding 1) computed with oneDNN's Winograd kernels: F(4 x 4, 3 x 3)
// transforms 6 x 6 input tiles so that 16 outputs cost 36 products per channel pair where the direct
// sum costs 144, plus the transforms. Over the unet's shapes here, reorders included, the forward
// ran 1.47 x and the backward 1.2 - 1.3 x as fast as LibTorch's convolutions, which call oneDNN's
// direct kernels (bench/convolution_kernels.cpp; docs/performance.md, "The unet").
// All arrays are plain float32: x [N, C_in, H, W], weight [C_out, C_in, 3, 3] (as torch::nn::Conv2d
// stores it), bias [C_out], y [N, C_out, H, W]; the reorders to and from oneDNN's blocked layouts are
// done inside. The work runs on the OpenMP pool LibTorch uses (its thread count).
class WinogradConv3x3 {
 public:
  // Whether this CPU has oneDNN Winograd kernels for the shape (AVX-512, channel counts it accepts).
  static bool available(const Conv3x3Shape& shape);
  // The convolution of `shape`, built once and kept for the process (building one takes milliseconds).
  static WinogradConv3x3& of(const Conv3x3Shape& shape);

  // y = conv(x, W) + b
  void forward(const float* x, const float* weight, const float* bias, float* y);
  // dx = the convolution's transpose applied to dy
  void input_grad(const float* dy, const float* weight, float* dx);
  // dW = the correlation of dy with x, db = the sums of dy over N, H and W
  void weight_grad(const float* x, const float* dy, float* weight_grad, float* bias_grad);

  explicit WinogradConv3x3(const Conv3x3Shape& shape);  // throws std::runtime_error where not available
  ~WinogradConv3x3();

 private:
  struct Primitives;  // winograd_convolution.cpp: oneDNN's primitives and the blocked buffers
  std::unique_ptr<Primitives> p_;
};

}  // namespace flowmatch::native
