#include "flowmatch/model/unet.h"

#include <torch/torch.h>

#include <cmath>

#include "flowmatch/core/error.h"
#include "flowmatch/model/fused_group_norm.h"
#include "flowmatch/model/time_embedding.h"
#include "flowmatch/model/winograd_conv.h"

namespace flowmatch {

namespace nn = torch::nn;

namespace {
nn::Conv2d make_conv3x3(int64_t in, int64_t out, int64_t stride = 1) {
  return nn::Conv2d(nn::Conv2dOptions(in, out, 3).stride(stride).padding(1));
}

// Starts a layer at zero, so the block it ends is the identity at initialisation.
void zero_init(nn::Conv2d& conv) {
  torch::NoGradGuard no_grad;
  conv->weight.zero_();
  conv->bias.zero_();
}
}  // namespace

// h = conv1(silu(norm1(x))) + time(silu(emb))  (broadcast over H x W)
// out = skip(x) + conv2(silu(norm2(h)))         (skip: identity, or a 1x1 conv when the width changes)
struct UNetResidualBlock : nn::Module {
  UNetResidualBlock(int64_t in, int64_t out, int64_t embedding_dim, int64_t groups)
      : norm1(register_module("norm1", nn::GroupNorm(groups, in))),
        conv1(register_module("conv1", make_conv3x3(in, out))),
        time(register_module("time", nn::Linear(embedding_dim, out))),
        norm2(register_module("norm2", nn::GroupNorm(groups, out))),
        conv2(register_module("conv2", make_conv3x3(out, out))) {
    if (in != out) skip = register_module("skip", nn::Conv2d(nn::Conv2dOptions(in, out, 1)));
    zero_init(conv2);
  }
  // native: the 3 x 3 convolutions on Winograd kernels (winograd_conv.h), and GroupNorm + SiLU fused
  // where no gradient is asked for (fused_group_norm.h)
  at::Tensor forward(const at::Tensor& x, const at::Tensor& embedding, bool native) {
    at::Tensor h = conv3x3(*conv1, silu_of_group_norm(*norm1, x, native), native) +
                   time(torch::silu(embedding)).unsqueeze(-1).unsqueeze(-1);
    h = conv3x3(*conv2, silu_of_group_norm(*norm2, h, native), native);
    return (skip ? skip(x) : x) + h;
  }
  nn::GroupNorm norm1;
  nn::Conv2d conv1;
  nn::Linear time;
  nn::GroupNorm norm2;
  nn::Conv2d conv2, skip{nullptr};
};

// Single-head self-attention over the N = H x W positions, written out (LibTorch 1.13 has no fused kernel):
//   q, k, v = qkv(norm(x)) as [B, C, N];  a = softmax(q^T k / sqrt(C)) [B, N, N];  out = x + proj(v a^T)
struct UNetAttention : nn::Module {
  UNetAttention(int64_t channels, int64_t groups)
      : norm(register_module("norm", nn::GroupNorm(groups, channels))),
        qkv(register_module("qkv", nn::Conv2d(nn::Conv2dOptions(channels, 3 * channels, 1)))),
        proj(register_module("proj", nn::Conv2d(nn::Conv2dOptions(channels, channels, 1)))) {
    zero_init(proj);
  }
  at::Tensor forward(const at::Tensor& x) {
    int64_t b = x.size(0), c = x.size(1), h = x.size(2), w = x.size(3);
    auto q_k_v = qkv(norm(x)).reshape({b, 3, c, h * w}).unbind(1);
    at::Tensor weights = torch::softmax(torch::matmul(q_k_v[0].transpose(1, 2), q_k_v[1]) / std::sqrt(double(c)), -1);
    at::Tensor attended = torch::matmul(q_k_v[2], weights.transpose(1, 2));
    return x + proj(attended.reshape({b, c, h, w}));
  }
  nn::GroupNorm norm;
  nn::Conv2d qkv, proj;
};

std::shared_ptr<VelocityModel> UNet::from_config(ModelConfig& config) {
  UNetOptions o;
  auto image_shape = config.take<std::vector<int64_t>>("image_shape", {});
  o.widths = config.take("widths", o.widths);
  o.depth = config.take("depth", o.depth);
  o.time_dim = config.take("time_dim", o.time_dim);
  o.groups = config.take("groups", o.groups);
  o.classes = config.take("classes", o.classes);
  return std::make_shared<UNet>(image_shape, o);
}

UNet::UNet(std::vector<int64_t> image_shape, UNetOptions options)
    : image_shape_(std::move(image_shape)), options_(std::move(options)) {
  const auto& widths = options_.widths;
  if (image_shape_.size() != 3 || image_shape_[0] < 1 || image_shape_[1] < 1 || image_shape_[2] < 1)
    throw Error("unet needs an image shape [C, H, W], got " + c10::str(c10::IntArrayRef(image_shape_)));
  if (widths.empty()) throw Error("unet needs at least one width");
  if (options_.depth < 1) throw Error("unet needs depth (residual blocks per level) >= 1");
  if (options_.time_dim < 4 || options_.time_dim % 2) throw Error("unet time_dim must be even and >= 4");
  if (options_.groups < 1) throw Error("unet groups must be >= 1");
  if (options_.classes < 0) throw Error("unet classes must be >= 0");
  for (int64_t width : widths)
    if (width < 1 || width % options_.groups)
      throw Error("every unet width must be a positive multiple of groups (" + std::to_string(options_.groups) + "), got " +
                  std::to_string(width));
  int64_t scale = int64_t(1) << (widths.size() - 1);
  if (image_shape_[1] % scale || image_shape_[2] % scale)
    throw Error("a unet with " + std::to_string(widths.size()) + " levels needs H and W divisible by " +
                std::to_string(scale) + ", got " + std::to_string(image_shape_[1]) + " x " + std::to_string(image_shape_[2]) +
                " (use fewer --widths or another --image-size)");

  int64_t embedding_dim = 4 * widths[0], groups = options_.groups;
  frequencies_ = sinusoidal_frequencies(options_.time_dim);
  time_in_ = register_module("time_in", nn::Linear(options_.time_dim, embedding_dim));
  time_out_ = register_module("time_out", nn::Linear(embedding_dim, embedding_dim));
  if (options_.classes > 0) class_embedding_ = register_module("class_embedding", nn::Embedding(options_.classes + 1, embedding_dim));
  stem_ = register_module("stem", make_conv3x3(image_shape_[0], widths[0]));
  down_ = register_module("down", nn::ModuleList());
  downsample_ = register_module("downsample", nn::ModuleList());
  up_ = register_module("up", nn::ModuleList());
  upsample_ = register_module("upsample", nn::ModuleList());
  size_t levels = widths.size();
  for (size_t i = 0; i < levels; ++i) {
    nn::ModuleList level;
    for (int64_t j = 0; j < options_.depth; ++j)
      level->push_back(std::make_shared<UNetResidualBlock>(j == 0 && i > 0 ? widths[i - 1] : widths[i], widths[i], embedding_dim, groups));
    down_->push_back(level);
    if (i + 1 < levels) downsample_->push_back(make_conv3x3(widths[i], widths[i], 2));
  }
  int64_t bottom = widths.back();
  middle_in_ = register_module("middle_in", std::make_shared<UNetResidualBlock>(bottom, bottom, embedding_dim, groups));
  attention_ = register_module("attention", std::make_shared<UNetAttention>(bottom, groups));
  middle_out_ = register_module("middle_out", std::make_shared<UNetResidualBlock>(bottom, bottom, embedding_dim, groups));
  // up.{k} and upsample.{k} run from the lowest level (k = 0) to the highest.
  for (size_t k = 0; k < levels; ++k) {
    size_t i = levels - 1 - k;
    nn::ModuleList level;
    for (int64_t j = 0; j < options_.depth; ++j)
      level->push_back(std::make_shared<UNetResidualBlock>(2 * widths[i], widths[i], embedding_dim, groups));
    up_->push_back(level);
    if (i > 0) upsample_->push_back(make_conv3x3(widths[i], widths[i - 1]));
  }
  out_norm_ = register_module("out_norm", nn::GroupNorm(groups, widths[0]));
  out_conv_ = register_module("out_conv", make_conv3x3(widths[0], image_shape_[0]));
  zero_init(out_conv_);
}

at::Tensor UNet::network(const at::Tensor& x, const at::Tensor& embedding) {
  size_t levels = options_.widths.size();
  at::Tensor h = conv3x3(*stem_, x, native_);
  std::vector<at::Tensor> skips;
  for (size_t i = 0; i < levels; ++i) {
    for (const auto& block : *down_[i]->as<nn::ModuleList>()) {
      h = block->as<UNetResidualBlock>()->forward(h, embedding, native_);
      skips.push_back(h);
    }
    if (i + 1 < levels) h = downsample_[i]->as<nn::Conv2d>()->forward(h);
  }
  h = middle_out_->forward(attention_->forward(middle_in_->forward(h, embedding, native_)), embedding, native_);
  for (size_t k = 0; k < levels; ++k) {
    for (const auto& block : *up_[k]->as<nn::ModuleList>()) {
      h = block->as<UNetResidualBlock>()->forward(torch::cat({h, skips.back()}, 1), embedding, native_);
      skips.pop_back();
    }
    if (k + 1 < levels) {
      h = torch::upsample_nearest2d(h, {h.size(2) * 2, h.size(3) * 2});
      h = conv3x3(*upsample_[k]->as<nn::Conv2d>(), h, native_);
    }
  }
  return conv3x3(*out_conv_, silu_of_group_norm(*out_norm_, h, native_), native_);
}

bool UNet::native_runs() const {
  // its first level's convolutions: the largest share of its work
  int64_t width = options_.widths.front();
  return winograd_available(width, width, image_shape_[1], image_shape_[2]);
}

at::Tensor UNet::embed_time(const at::Tensor& t) {
  return time_out_(torch::silu(time_in_(sinusoidal_embedding(t, frequencies_, 1000.0))));
}

at::Tensor UNet::forward(const at::Tensor& x, const at::Tensor& t) {
  if (options_.classes > 0)  // the label K: no class
    return forward_class(x, t, torch::full({x.size(0)}, options_.classes, t.options().dtype(torch::kLong)));
  return network(x, embed_time(t));
}

at::Tensor UNet::forward_class(const at::Tensor& x, const at::Tensor& t, const at::Tensor& labels) {
  if (options_.classes == 0) return VelocityModel::forward_class(x, t, labels);
  return network(x, embed_time(t) + class_embedding_(labels));
}

nlohmann::json UNet::config() const {
  return {{"name", "unet"},          {"image_shape", image_shape_}, {"widths", options_.widths},
          {"depth", options_.depth}, {"time_dim", options_.time_dim}, {"groups", options_.groups},
          {"classes", options_.classes}};
}

}  // namespace flowmatch
