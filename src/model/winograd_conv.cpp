#include "flowmatch/model/winograd_conv.h"

#include <torch/torch.h>

#include "flowmatch/native/winograd_convolution.h"

namespace flowmatch {

namespace {
using native::Conv3x3Shape;
using native::WinogradConv3x3;
using torch::autograd::AutogradContext;

// t as a contiguous array that starts on a 64-byte boundary, as oneDNN's kernels read them (a view
// into a larger tensor may start anywhere): t itself where it does, else a copy.
at::Tensor aligned(const at::Tensor& t) {
  at::Tensor c = t.contiguous();
  return reinterpret_cast<uintptr_t>(c.data_ptr()) % 64 == 0 ? c : c.clone();
}

Conv3x3Shape shape_of(const at::Tensor& x, const at::Tensor& weight) {
  return {x.size(0), x.size(1), weight.size(0), x.size(2), x.size(3)};
}

// y = conv(x, W) + b on plain float32 arrays
at::Tensor winograd_forward(const at::Tensor& x, const at::Tensor& weight, const at::Tensor& bias) {
  at::Tensor y = torch::empty({x.size(0), weight.size(0), x.size(2), x.size(3)}, x.options());
  WinogradConv3x3::of(shape_of(x, weight)).forward(x.data_ptr<float>(), weight.data_ptr<float>(), bias.data_ptr<float>(),
                                                   y.data_ptr<float>());
  return y;
}

struct WinogradFunction : torch::autograd::Function<WinogradFunction> {
  static at::Tensor forward(AutogradContext* ctx, const at::Tensor& x, const at::Tensor& weight, const at::Tensor& bias) {
    ctx->save_for_backward({x, weight});
    return winograd_forward(x, weight, bias);
  }
  // dx = conv^T(dy, W);  dW, db from dy and x
  static torch::autograd::variable_list backward(AutogradContext* ctx, torch::autograd::variable_list grads) {
    auto saved = ctx->get_saved_variables();
    const at::Tensor &x = saved[0], &weight = saved[1];
    at::Tensor dy = aligned(grads[0]), dx, weight_grad, bias_grad;
    WinogradConv3x3& conv = WinogradConv3x3::of(shape_of(x, weight));
    if (ctx->needs_input_grad(0)) {
      dx = torch::empty_like(x);
      conv.input_grad(dy.data_ptr<float>(), weight.data_ptr<float>(), dx.data_ptr<float>());
    }
    if (ctx->needs_input_grad(1) || ctx->needs_input_grad(2)) {
      weight_grad = torch::empty_like(weight);
      bias_grad = torch::empty({weight.size(0)}, weight.options());
      conv.weight_grad(x.data_ptr<float>(), dy.data_ptr<float>(), weight_grad.data_ptr<float>(), bias_grad.data_ptr<float>());
    }
    return {dx, weight_grad, bias_grad};
  }
};

bool both(const torch::ExpandingArray<2>& pair, int64_t value) { return (*pair)[0] == value && (*pair)[1] == value; }

bool applies(const torch::nn::Conv2dImpl& conv, const at::Tensor& x) {
  const auto& o = conv.options;
  bool padded_by_one = c10::holds_alternative<torch::ExpandingArray<2>>(o.padding()) &&
                       both(c10::get<torch::ExpandingArray<2>>(o.padding()), 1);
  return x.dim() == 4 && x.scalar_type() == at::kFloat && x.device().is_cpu() && conv.weight.scalar_type() == at::kFloat &&
         conv.bias.defined() && both(o.kernel_size(), 3) && both(o.stride(), 1) && both(o.dilation(), 1) && o.groups() == 1 &&
         padded_by_one && winograd_available(x.size(1), conv.weight.size(0), x.size(2), x.size(3));
}
}  // namespace

bool winograd_available(int64_t in, int64_t out, int64_t height, int64_t width) {
  return WinogradConv3x3::available({1, in, out, height, width});
}

at::Tensor conv3x3(torch::nn::Conv2dImpl& conv, const at::Tensor& x, bool winograd) {
  if (!winograd || !applies(conv, x)) return conv.forward(x);
  at::Tensor input = aligned(x), weight = aligned(conv.weight), bias = aligned(conv.bias);
  bool graph = at::GradMode::is_enabled() && (x.requires_grad() || weight.requires_grad() || bias.requires_grad());
  return graph ? WinogradFunction::apply(input, weight, bias) : winograd_forward(input, weight, bias);
}

}  // namespace flowmatch
