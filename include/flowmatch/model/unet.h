#pragma once
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/embedding.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/normalization.h>

#include <vector>

#include "flowmatch/model/model_config.h"
#include "flowmatch/model/velocity_model.h"

namespace flowmatch {

struct UNetResidualBlock;  // unet.cpp
struct UNetAttention;

struct UNetOptions {
  std::vector<int64_t> widths = {32, 64, 64};  // channels per resolution level; each level halves H and W
  int64_t depth = 1;        // residual blocks per level, on the way down and on the way up
  int64_t time_dim = 128;   // sinusoidal embedding of t * 1000; the embedding MLP is 4 * widths[0] wide
  int64_t groups = 8;       // GroupNorm groups; must divide every width
  int64_t classes = 0;      // > 0: class-conditional, with a learned embedding per class and one for "no class"
};

// The image velocity network ("unet"), the shape of DDPM's U-Net at CPU size:
//   emb = time_out(silu(time_in(sin_emb(1000 t)))) [+ class_embedding(y)]
//   h = stem(x); down: residual blocks per level (each output kept as a skip), a stride-2 conv between levels
//   middle: residual block, self-attention over the H x W positions, residual block
//   up: residual blocks on [h, skip], nearest 2x upsampling + conv between levels
//   v = out_conv(silu(out_norm(h)))          (out_conv starts at zero, so v starts at 0)
// A residual block: h = conv1(silu(norm1(x))) + time(silu(emb)); out = skip(x) + conv2(silu(norm2(h))).
class UNet : public VelocityModel {
 public:
  // image_shape: {C, H, W}; H and W divisible by 2^(levels - 1). Throws Error on bad options.
  UNet(std::vector<int64_t> image_shape, UNetOptions options);
  // {"name": "unet", "image_shape": [C, H, W], ...the options above by their names}, defaulting as above.
  static std::shared_ptr<VelocityModel> from_config(ModelConfig& config);
  at::Tensor forward(const at::Tensor& x, const at::Tensor& t) override;
  int64_t classes() const override { return options_.classes; }
  at::Tensor forward_class(const at::Tensor& x, const at::Tensor& t, const at::Tensor& labels) override;
  nlohmann::json config() const override;
  std::vector<int64_t> sample_shape() const override { return image_shape_; }

  // The native engine: the 3 x 3 convolutions on oneDNN's Winograd kernels (model/winograd_conv.h)
  // where they run, and GroupNorm + SiLU in one pass when sampling (model/fused_group_norm.h); or
  // (false, the default) every layer on LibTorch.
  void use_native(bool on) { native_ = on; }
  // Whether this CPU has the Winograd kernels for the model's first-level convolutions.
  bool native_runs() const;

 private:
  at::Tensor embed_time(const at::Tensor& t);
  at::Tensor network(const at::Tensor& x, const at::Tensor& embedding);

  std::vector<int64_t> image_shape_;
  UNetOptions options_;
  bool native_ = false;
  at::Tensor frequencies_;
  torch::nn::Linear time_in_{nullptr}, time_out_{nullptr};
  torch::nn::Embedding class_embedding_{nullptr};
  torch::nn::Conv2d stem_{nullptr}, out_conv_{nullptr};
  torch::nn::ModuleList down_{nullptr}, downsample_{nullptr}, up_{nullptr}, upsample_{nullptr};
  std::shared_ptr<UNetResidualBlock> middle_in_, middle_out_;
  std::shared_ptr<UNetAttention> attention_;
  torch::nn::GroupNorm out_norm_{nullptr};
};

}  // namespace flowmatch
