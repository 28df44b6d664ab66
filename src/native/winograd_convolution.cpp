#include "flowmatch/native/winograd_convolution.h"

#include <cstdlib>
#include <map>
#include <mutex>
#include <oneapi/dnnl/dnnl.hpp>
#include <stdexcept>
#include <tuple>

namespace flowmatch::native {

namespace {
using dnnl::memory;
using Layout = memory::format_tag;

dnnl::engine& cpu() {
  static dnnl::engine engine(dnnl::engine::kind::cpu, 0);
  return engine;
}

memory::desc plain(const memory::dims& dims, Layout layout) { return memory::desc(dims, memory::data_type::f32, layout); }
memory::desc any(const memory::dims& dims) { return plain(dims, Layout::any); }

// Where oneDNN wants a blocked layout, the plain array is reordered through a buffer: one buffer per
// role (0: the input side, 1: the weights, 2: the output side), grown to the largest size asked of it
// and shared by every convolution, which therefore run one at a time (`one_at_a_time`). Kept for the
// process, like the primitives, so that a training step allocates nothing.
// The buffers are aligned to 64 bytes, as oneDNN's kernels load them (a 16-byte aligned one crashed).
float* scratch(int role, size_t bytes) {
  struct Buffer {
    std::unique_ptr<float, decltype(&std::free)> data{nullptr, &std::free};
    size_t bytes = 0;
  };
  static Buffer buffers[3];
  Buffer& buffer = buffers[role];
  if (buffer.bytes < bytes) {
    size_t rounded = (bytes + 63) / 64 * 64;
    buffer.data.reset(static_cast<float*>(std::aligned_alloc(64, rounded)));
    if (!buffer.data) throw std::bad_alloc();
    buffer.bytes = rounded;
  }
  return buffer.data.get();
}

// One array of the convolution: as the caller holds it (plain) and as the primitive wants it.
struct Operand {
  memory::desc user, wanted;
  int role;
  bool reordered() const { return user != wanted; }
  // The array to hand to the primitive: `data` itself, or the scratch buffer it is (or will be) reordered to.
  memory bind(float* data) const {
    return reordered() ? memory(wanted, cpu(), scratch(role, wanted.get_size())) : memory(user, cpu(), data);
  }
};

std::mutex one_at_a_time;

void run(dnnl::primitive& primitive, const std::unordered_map<int, memory>& arguments) {
  dnnl::stream stream(cpu());
  primitive.execute(stream, arguments);
  stream.wait();
}

// from -> to, between the caller's layout and the primitive's
void reorder(memory from, memory to) {
  dnnl::stream stream(cpu());
  dnnl::reorder(from, to).execute(stream, from, to);
  stream.wait();
}
}  // namespace

bool Conv3x3Shape::operator<(const Conv3x3Shape& o) const {
  return std::tie(batch, in_channels, out_channels, height, width) <
         std::tie(o.batch, o.in_channels, o.out_channels, o.height, o.width);
}

struct WinogradConv3x3::Primitives {
  dnnl::convolution_forward forward;
  dnnl::convolution_backward_data input_grad;
  dnnl::convolution_backward_weights weight_grad;
  Operand x, weight, y;             // the forward's
  Operand dy_in, weight_in, dx;     // the input gradient's
  Operand x_w, dy_w, weight_grad_w; // the weight gradient's
  memory::desc bias;
};

WinogradConv3x3::WinogradConv3x3(const Conv3x3Shape& s) : p_(std::make_unique<Primitives>()) {
  memory::dims x_dims = {s.batch, s.in_channels, s.height, s.width}, y_dims = {s.batch, s.out_channels, s.height, s.width},
               w_dims = {s.out_channels, s.in_channels, 3, 3}, b_dims = {s.out_channels}, unit = {1, 1};
  const auto winograd = dnnl::algorithm::convolution_winograd;
  try {
    p_->bias = plain(b_dims, Layout::a);
    dnnl::convolution_forward::primitive_desc forward(
        {dnnl::prop_kind::forward_training, winograd, any(x_dims), any(w_dims), p_->bias, any(y_dims), unit, unit, unit}, cpu());
    dnnl::convolution_backward_data::primitive_desc input_grad(
        {winograd, any(x_dims), any(w_dims), any(y_dims), unit, unit, unit}, cpu(), forward);
    dnnl::convolution_backward_weights::primitive_desc weight_grad(
        {winograd, any(x_dims), any(w_dims), p_->bias, any(y_dims), unit, unit, unit}, cpu(), forward);
    memory::desc x_plain = plain(x_dims, Layout::nchw), y_plain = plain(y_dims, Layout::nchw), w_plain = plain(w_dims, Layout::oihw);
    p_->x = {x_plain, forward.src_desc(), 0};
    p_->weight = {w_plain, forward.weights_desc(), 1};
    p_->y = {y_plain, forward.dst_desc(), 2};
    p_->dy_in = {y_plain, input_grad.diff_dst_desc(), 0};
    p_->weight_in = {w_plain, input_grad.weights_desc(), 1};
    p_->dx = {x_plain, input_grad.diff_src_desc(), 2};
    p_->x_w = {x_plain, weight_grad.src_desc(), 0};
    p_->dy_w = {y_plain, weight_grad.diff_dst_desc(), 2};
    p_->weight_grad_w = {w_plain, weight_grad.diff_weights_desc(), 1};
    p_->forward = dnnl::convolution_forward(forward);
    p_->input_grad = dnnl::convolution_backward_data(input_grad);
    p_->weight_grad = dnnl::convolution_backward_weights(weight_grad);
  } catch (const dnnl::error& e) {
    throw std::runtime_error(std::string("no oneDNN Winograd convolution for this shape on this CPU: ") + e.what());
  }
}

WinogradConv3x3::~WinogradConv3x3() = default;

bool WinogradConv3x3::available(const Conv3x3Shape& shape) {
  static std::mutex mutex;
  static std::map<std::tuple<int64_t, int64_t, int64_t, int64_t>, bool> known;  // by everything but the batch
  std::lock_guard<std::mutex> lock(mutex);
  auto key = std::make_tuple(shape.in_channels, shape.out_channels, shape.height, shape.width);
  auto found = known.find(key);
  if (found != known.end()) return found->second;
  bool ok = true;
  try {
    WinogradConv3x3 probe({1, shape.in_channels, shape.out_channels, shape.height, shape.width});
  } catch (const std::runtime_error&) {
    ok = false;
  }
  return known[key] = ok;
}

WinogradConv3x3& WinogradConv3x3::of(const Conv3x3Shape& shape) {
  static std::mutex mutex;
  static std::map<Conv3x3Shape, std::unique_ptr<WinogradConv3x3>> built;
  std::lock_guard<std::mutex> lock(mutex);
  auto& slot = built[shape];
  if (!slot) slot = std::make_unique<WinogradConv3x3>(shape);
  return *slot;
}

namespace {
// The primitive's copy of an input: `data` reordered into its buffer where the layouts differ.
memory input(const Operand& operand, const float* data) {
  memory bound = operand.bind(const_cast<float*>(data));
  if (operand.reordered()) reorder(memory(operand.user, cpu(), const_cast<float*>(data)), bound);
  return bound;
}
// After the primitive wrote `bound`, the caller's `data` gets it in its own layout.
void output(const Operand& operand, const memory& bound, float* data) {
  if (operand.reordered()) reorder(bound, memory(operand.user, cpu(), data));
}
}  // namespace

// y = conv(x, W) + b
void WinogradConv3x3::forward(const float* x, const float* weight, const float* bias, float* y) {
  std::lock_guard<std::mutex> lock(one_at_a_time);
  memory xs = input(p_->x, x), ws = input(p_->weight, weight), ys = p_->y.bind(y);
  run(p_->forward, {{DNNL_ARG_SRC, xs}, {DNNL_ARG_WEIGHTS, ws}, {DNNL_ARG_BIAS, memory(p_->bias, cpu(), const_cast<float*>(bias))},
                    {DNNL_ARG_DST, ys}});
  output(p_->y, ys, y);
}

// dx = conv^T(dy, W)
void WinogradConv3x3::input_grad(const float* dy, const float* weight, float* dx) {
  std::lock_guard<std::mutex> lock(one_at_a_time);
  memory dys = input(p_->dy_in, dy), ws = input(p_->weight_in, weight), dxs = p_->dx.bind(dx);
  run(p_->input_grad, {{DNNL_ARG_DIFF_DST, dys}, {DNNL_ARG_WEIGHTS, ws}, {DNNL_ARG_DIFF_SRC, dxs}});
  output(p_->dx, dxs, dx);
}

// dW = sum over N, H, W of dy (x) the 3 x 3 neighbourhoods of x;  db = sum of dy
void WinogradConv3x3::weight_grad(const float* x, const float* dy, float* weight_grad, float* bias_grad) {
  std::lock_guard<std::mutex> lock(one_at_a_time);
  memory xs = input(p_->x_w, x), dys = input(p_->dy_w, dy), dws = p_->weight_grad_w.bind(weight_grad);
  run(p_->weight_grad, {{DNNL_ARG_SRC, xs}, {DNNL_ARG_DIFF_DST, dys}, {DNNL_ARG_DIFF_WEIGHTS, dws},
                        {DNNL_ARG_DIFF_BIAS, memory(p_->bias, cpu(), bias_grad)}});
  output(p_->weight_grad_w, dws, weight_grad);
}

}  // namespace flowmatch::native
