#include "flowmatch/model/native_mlp.h"

#include <torch/torch.h>

#include <algorithm>
#include <thread>

#include "flowmatch/core/error.h"
#include "flowmatch/model/module_weights.h"
#include "flowmatch/model/residual_mlp.h"
#include "flowmatch/model/time_embedding.h"
#include "flowmatch/native/activation.h"
#include "flowmatch/native/linear.h"
#include "flowmatch/native/row_split.h"
#include "flowmatch/native/sinusoids.h"

namespace flowmatch {

using native::Activation;

namespace {

constexpr int64_t kTile = 128;          // sampling: rows per tile, whose activations stay in cache
constexpr int64_t kMinRowsPerPart = 8;  // fewer rows than this per thread: fewer threads
constexpr int64_t kMinProductsPerPart = int64_t(1) << 16;  // weight gradients: fewer multiply-adds per thread, fewer threads

void add_rows(const float* a, int64_t n, float* y) {  // y += a
  for (int64_t i = 0; i < n; ++i) y[i] += a[i];
}

}  // namespace

// Everything the passes need: the architecture, its layers, and the activations' memory.
struct NativeMLP::Engine {
  // One torch::nn::Linear of the module: its parameters; for a backward pass with weight gradients,
  // where its dL/dy rows are kept (at `dy` floats per row of the workspace) and its input's row 0.
  struct Layer {
    at::Tensor weight, bias;
    int64_t in = 0, out = 0, dy = 0;
    const float* input = nullptr;
    const float* w() const { return weight.data_ptr<float>(); }
    const float* b() const { return bias.data_ptr<float>(); }
  };

  bool seed = false;  // seed-mlp: blocks of Linear + ReLU, no activation before the output layer
  int64_t D = 0, W = 0, depth = 0, F = 0, C = 0, time_dim = 0;
  float time_scale = 0;
  bool interval = false, film = false, linear = false;  // linear: v += A(t) [x, m c]
  int64_t Z = 0;                                        // the linear term's D + C
  Activation act = Activation::ReLU;
  std::vector<float> frequencies;
  at::Tensor fourier_basis;
  Layer in, time, interval_time, out, context_first, context_second, linear_term;
  std::vector<Layer> ff1, ff2, film_layers;  // seed-mlp: ff1 holds blocks.i.ff
  std::vector<Layer*> layers;                // all of them
  int64_t dy_width = 0;                      // the layers' dL/dy, floats per row
  int64_t parameters = 0;
  int threads = 1;

  // The inputs of the pass under way (contiguous float32, bool for `dropped`); kept for backward.
  at::Tensor x, s, t, context, dropped;
  std::vector<float> input_bias;  // the input stage's biases, summed; with shared_time, plus the time terms
  bool shared_time = false;       // a sampling pass whose rows share s and t: the time terms computed once
  std::vector<float> shared_A;    // with shared_time and the linear term: A(t), [D, Z]
  static constexpr int64_t K = ResidualMLP::kLinearTermDegree;  // A(t)'s polynomials of t
  int parts = 1;

  // Activations: per row, buffers at these offsets (in floats per row) of a workspace of `capacity`
  // rows. A block's buffers repeat per block when a pass keeps them for backward, else are reused.
  struct Offsets {
    int64_t f, T, T2, dt, cin, c1, c1a, e, ea, h, z, gb, u, a, z1, a1, o, zl, polynomials, A;  // forward
    int64_t dh, da, du, dgb, dea, de, dc1, df, dphase, dA, dy;                   // backward
  } off{};
  std::vector<float> memory;
  int64_t capacity = 0;
  bool kept = false;

  float* at(int64_t offset, int64_t width, int64_t row) { return memory.data() + offset * capacity + row * width; }
  int64_t features_width() const { return F > 0 ? D + 2 * F : D; }
  int64_t block_slot(int64_t i) const { return kept ? i : 0; }
  int64_t h_slot(int64_t i) const { return kept ? i : i % 2; }

  void plan(int64_t rows, bool keep);
  void forward_rows(int64_t r, int64_t n, int64_t w, float* v);
  void sum_input_biases(bool keep);
  void input_stage(int64_t r, int64_t n, int64_t w);
  void add_linear_term(int64_t r, int64_t n, int64_t w, float* vr);
  // A backward pass runs in two sweeps. The first goes down the layers, each thread on its share of
  // the rows, and gives dL/dx; with `weights`, it also keeps each layer's dL/dy for its rows
  // (keep_dy). The second computes the weight gradients, each thread a share of every layer's
  // output rows over all the batch's rows (weight_grads), so that nothing needs summing afterwards.
  void input_stage_grad(int64_t n, int64_t r, const float* dh, bool weights, float* dx);
  void backward_rows(int64_t r, int64_t n, const float* dv, bool weights, float* dx);
  void linear_term_grad(int64_t r, int64_t n, const float* dvr, bool weights, float* dx);
  // Layer `layer`'s dL/dy for rows r .. r + n - 1, and where its input's rows lie.
  void keep_dy(Layer& layer, const float* dy, const float* input, int64_t r, int64_t n);
  // dW += dy^T input, db += the column sums of dy, over all `rows`, for share `part` of `parts` of
  // each layer's output rows.
  void weight_grads(int64_t rows, int part, int parts);
};

void NativeMLP::Engine::keep_dy(Layer& layer, const float* dy, const float* input, int64_t r, int64_t n) {
  std::copy(dy, dy + n * layer.out, at(off.dy + layer.dy, layer.out, r));
  if (r == 0) layer.input = input;  // row 0's thread: the rows of every input are laid out one after another
}

void NativeMLP::Engine::weight_grads(int64_t rows, int part, int parts) {
  for (Layer* l : layers) {
    int64_t first = l->out * part / parts, last = l->out * (part + 1) / parts;
    if (first == last) continue;
    const float* dy = at(off.dy + l->dy, l->out, 0) + first;
    float *dW = l->weight.mutable_grad().data_ptr<float>(), *db = l->bias.mutable_grad().data_ptr<float>();
    native::linear_weight_grad(dy, l->out, l->input, rows, last - first, l->in, dW + first * l->in);
    native::bias_grad(dy, l->out, rows, last - first, db + first);
  }
}

void NativeMLP::Engine::plan(int64_t rows, bool keep) {
  int64_t blocks = keep ? depth : 1, hs = keep ? depth + 1 : 2, next = 0;
  auto take = [&](bool needed, int64_t width) {
    int64_t offset = next;
    if (needed) next += width;
    return offset;
  };
  bool context = C > 0, mlp = !seed;
  off.f = take(F > 0, D + 2 * F);
  off.T = take(true, time_dim);
  off.T2 = take(interval, time_dim);
  off.dt = take(interval, 1);
  off.cin = take(context, C + 1);
  off.c1 = take(context, W);
  off.c1a = take(context, W);
  off.e = take(context, W);
  off.ea = take(film, W);
  off.h = take(true, hs * W);
  off.z = take(seed, blocks * W);
  off.gb = take(film, blocks * 2 * W);
  off.u = take(film, blocks * W);
  off.a = take(mlp, blocks * W);
  off.z1 = take(mlp, blocks * W);
  off.a1 = take(mlp, blocks * W);
  off.o = take(mlp, W);
  off.zl = take(linear, Z);
  off.polynomials = take(linear, K);
  off.A = take(linear, D * Z);
  off.dh = take(keep, W);
  off.da = take(keep, W);
  off.du = take(keep && mlp, W);
  off.dgb = take(keep && film, 2 * W);
  off.dea = take(keep && film, W);
  off.de = take(keep && context, W);
  off.dc1 = take(keep && context, W);
  off.df = take(keep && F > 0, D + 2 * F);
  off.dphase = take(keep && F > 0, F);
  off.dA = take(keep && linear, D * Z);
  off.dy = take(keep, dy_width);
  kept = keep;
  capacity = rows;
  if (memory.size() < size_t(next * rows)) memory.resize(size_t(next * rows));
}

// The bias of h_0. A sampling pass whose rows all share one time (and one s) adds the time terms,
// the same for every row, once here: per row they would cost time_dim sines and a product.
void NativeMLP::Engine::sum_input_biases(bool keep) {
  input_bias.assign(in.b(), in.b() + W);
  for (int64_t j = 0; j < W; ++j) input_bias[j] += time.b()[j] + (interval ? interval_time.b()[j] : 0.0f);
  auto same = [](const at::Tensor& a) {
    const float* p = a.data_ptr<float>();
    return std::all_of(p, p + a.numel(), [&](float v) { return v == p[0]; });
  };
  shared_time = !keep && x.size(0) > 1 && same(t) && (!interval || same(s));
  if (!shared_time) return;
  std::vector<float> embedding(static_cast<size_t>(time_dim)), terms(static_cast<size_t>(W));
  const float* start = (interval ? s : t).data_ptr<float>();
  native::sinusoidal_embedding(start, 1, time_scale, frequencies.data(), time_dim / 2, embedding.data());
  native::linear_forward(embedding.data(), 1, time_dim, time.w(), W, terms.data());
  if (interval) {
    float dt = t.data_ptr<float>()[0] - start[0];
    native::sinusoidal_embedding(&dt, 1, time_scale, frequencies.data(), time_dim / 2, embedding.data());
    native::linear_forward(embedding.data(), 1, time_dim, interval_time.w(), W, terms.data(), true);
  }
  for (int64_t j = 0; j < W; ++j) input_bias[j] += terms[j];
  if (!linear) return;
  float polynomials[K];
  native::chebyshev_basis(t.data_ptr<float>(), 1, K, polynomials);
  shared_A.resize(size_t(D * Z));
  native::linear_forward(polynomials, 1, K, linear_term.w(), D * Z, shared_A.data());
  native::add_bias_and_activate(shared_A.data(), linear_term.b(), 1, D * Z, Activation::Identity, shared_A.data());
}

// h_0 = in_projection(f(x)) + t_projection(emb(t)) [+ interval_projection(emb(t - s))] [+ e]: rows
// r .. r + n - 1 of the inputs, in workspace rows w .. w + n - 1.
void NativeMLP::Engine::input_stage(int64_t r, int64_t n, int64_t w) {
  const float* xr = x.data_ptr<float>() + r * D;
  const float* f = xr;
  if (F > 0) {
    float* features = at(off.f, D + 2 * F, w);
    native::fourier_features(xr, n, D, fourier_basis.data_ptr<float>(), F, features);
    f = features;
  }
  float* h = at(off.h, W, w);
  native::linear_forward(f, n, features_width(), in.w(), W, h);
  float* T = at(off.T, time_dim, w);
  const float* start = (interval ? s : t).data_ptr<float>() + r;  // an interval model embeds s, and t - s
  if (!shared_time) {
    native::sinusoidal_embedding(start, n, time_scale, frequencies.data(), time_dim / 2, T);
    native::linear_forward(T, n, time_dim, time.w(), W, h, true);
  }
  if (interval && !shared_time) {
    float* dt = at(off.dt, 1, w);
    for (int64_t i = 0; i < n; ++i) dt[i] = t.data_ptr<float>()[r + i] - start[i];
    float* T2 = at(off.T2, time_dim, w);
    native::sinusoidal_embedding(dt, n, time_scale, frequencies.data(), time_dim / 2, T2);
    native::linear_forward(T2, n, time_dim, interval_time.w(), W, h, true);
  }
  native::add_bias_and_activate(h, input_bias.data(), n, W, Activation::Identity, h);
  if (C == 0) return;
  // e = second(silu(first([m c, m]))), m = 0 for rows without their context
  float* cin = at(off.cin, C + 1, w);
  const float* c = context.defined() ? context.data_ptr<float>() + r * C : nullptr;
  const bool* drop = dropped.defined() ? dropped.data_ptr<bool>() + r : nullptr;
  for (int64_t i = 0; i < n; ++i) {
    float m = c && !(drop && drop[i]) ? 1.0f : 0.0f;
    for (int64_t j = 0; j < C; ++j) cin[i * (C + 1) + j] = m != 0.0f ? c[i * C + j] : 0.0f;
    cin[i * (C + 1) + C] = m;
  }
  float *c1 = at(off.c1, W, w), *c1a = at(off.c1a, W, w), *e = at(off.e, W, w);
  native::linear_forward(cin, n, C + 1, context_first.w(), W, c1);
  native::add_bias_and_activate(c1, context_first.b(), n, W, Activation::SiLU, c1a);
  native::linear_forward(c1a, n, W, context_second.w(), W, e);
  native::add_bias_and_activate(e, context_second.b(), n, W, Activation::Identity, e);
  if (film)
    native::activate(e, n * W, Activation::SiLU, at(off.ea, W, w));
  else
    add_rows(e, n * W, h);
}

void NativeMLP::Engine::forward_rows(int64_t r, int64_t n, int64_t w, float* v) {
  input_stage(r, n, w);
  float* vr = v + r * D;
  if (seed) {  // h_{i+1} = relu(ff_i(h_i)); v = out(h_depth)
    for (int64_t i = 0; i < depth; ++i) {
      float *h = at(off.h + h_slot(i) * W, W, w), *z = at(off.z + block_slot(i) * W, W, w);
      native::linear_forward(h, n, W, ff1[i].w(), W, z);
      native::add_bias_and_activate(z, ff1[i].b(), n, W, Activation::ReLU, at(off.h + h_slot(i + 1) * W, W, w));
    }
    native::linear_forward(at(off.h + h_slot(depth) * W, W, w), n, W, out.w(), D, vr);
    native::add_bias_and_activate(vr, out.b(), n, D, Activation::Identity, vr);
    return;
  }
  // h_{i+1} = h_i + ff2(act(ff1(act(u_i)))), u_i = h_i (1 + gamma_i) + beta_i with FiLM, else h_i;
  // v = out(act(h_depth))
  for (int64_t i = 0; i < depth; ++i) {
    int64_t b = block_slot(i);
    float *h = at(off.h + h_slot(i) * W, W, w), *u = h;
    if (film) {
      float *gb = at(off.gb + b * 2 * W, 2 * W, w), *ea = at(off.ea, W, w);
      u = at(off.u + b * W, W, w);
      native::linear_forward(ea, n, W, film_layers[i].w(), 2 * W, gb);
      native::add_bias_and_activate(gb, film_layers[i].b(), n, 2 * W, Activation::Identity, gb);
      for (int64_t row = 0; row < n; ++row)
        for (int64_t j = 0; j < W; ++j) {
          const float *gamma = gb + row * 2 * W, *beta = gamma + W;
          u[row * W + j] = beta[j] + h[row * W + j] * (1.0f + gamma[j]);
        }
    }
    float *a = at(off.a + b * W, W, w), *z1 = at(off.z1 + b * W, W, w), *a1 = at(off.a1 + b * W, W, w);
    float* next = at(off.h + h_slot(i + 1) * W, W, w);
    native::activate(u, n * W, act, a);
    native::linear_forward(a, n, W, ff1[i].w(), W, z1);
    native::add_bias_and_activate(z1, ff1[i].b(), n, W, act, a1);
    native::linear_forward(a1, n, W, ff2[i].w(), W, next);
    native::add_bias_and_activate(next, ff2[i].b(), n, W, Activation::Identity, next);
    add_rows(h, n * W, next);
  }
  float* o = at(off.o, W, w);
  native::activate(at(off.h + h_slot(depth) * W, W, w), n * W, act, o);
  native::linear_forward(o, n, W, out.w(), D, vr);
  native::add_bias_and_activate(vr, out.b(), n, D, Activation::Identity, vr);
  if (linear) add_linear_term(r, n, w, vr);
}

// v += A(t) z, z = [x, m c] (m c as the context embedding's input holds it),
// A(t) = reshape(W [T_k(2t - 1)] + b) [D, Z]
void NativeMLP::Engine::add_linear_term(int64_t r, int64_t n, int64_t w, float* vr) {
  float* z = at(off.zl, Z, w);
  const float *xr = x.data_ptr<float>() + r * D, *cin = C > 0 ? at(off.cin, C + 1, w) : nullptr;
  for (int64_t i = 0; i < n; ++i) {
    std::copy_n(xr + i * D, D, z + i * Z);
    if (cin) std::copy_n(cin + i * (C + 1), C, z + i * Z + D);
  }
  if (shared_time) return native::linear_forward(z, n, Z, shared_A.data(), D, vr, true);  // one A for every row
  float *A = at(off.A, D * Z, w), *polynomials = at(off.polynomials, K, w);
  native::chebyshev_basis(t.data_ptr<float>() + r, n, K, polynomials);
  native::linear_forward(polynomials, n, K, linear_term.w(), D * Z, A);
  native::add_bias_and_activate(A, linear_term.b(), n, D * Z, Activation::Identity, A);
  for (int64_t i = 0; i < n; ++i)
    for (int64_t d = 0; d < D; ++d) {
      const float *a = A + (i * D + d) * Z, *zi = z + i * Z;
      float sum = 0;
      for (int64_t j = 0; j < Z; ++j) sum += a[j] * zi[j];
      vr[i * D + d] += sum;
    }
}

// dL/dA = dv z^T per row, kept for dW = sum over rows of dL/dA [T_k(2t - 1)]^T; dL/dx += the first D of A^T dv.
void NativeMLP::Engine::linear_term_grad(int64_t r, int64_t n, const float* dvr, bool weights, float* dx) {
  const float *z = at(off.zl, Z, r), *A = at(off.A, D * Z, r);
  if (weights) {
    float* dA = at(off.dA, D * Z, r);
    for (int64_t i = 0; i < n; ++i)
      for (int64_t d = 0; d < D; ++d)
        for (int64_t j = 0; j < Z; ++j) dA[(i * D + d) * Z + j] = dvr[i * D + d] * z[i * Z + j];
    keep_dy(linear_term, dA, at(off.polynomials, K, r), r, n);
  }
  if (!dx) return;
  for (int64_t i = 0; i < n; ++i)
    for (int64_t d = 0; d < D; ++d)
      for (int64_t j = 0; j < D; ++j) dx[(r + i) * D + j] += A[(i * D + d) * Z + j] * dvr[i * D + d];
}

// From dh = dL/dh_0: with `weights`, the input stage's and the context embedding's dL/dy kept; and
// dL/dx into dx unless it is null.
void NativeMLP::Engine::input_stage_grad(int64_t n, int64_t r, const float* dh, bool weights, float* dx) {
  auto keep = [&](Layer& layer, const float* dy, const float* input) {
    if (weights) keep_dy(layer, dy, input, r, n);
  };
  const float* f = F > 0 ? at(off.f, D + 2 * F, r) : x.data_ptr<float>() + r * D;
  keep(in, dh, f);
  keep(time, dh, at(off.T, time_dim, r));
  if (interval) keep(interval_time, dh, at(off.T2, time_dim, r));
  if (C > 0 && weights) {  // the context embedding's weights (no gradient for the context itself): add: de = dh; film: de = dea silu'(e)
    const float* de = dh;
    if (film) {
      native::activation_grad(at(off.e, W, r), at(off.dea, W, r), n * W, Activation::SiLU, at(off.de, W, r));
      de = at(off.de, W, r);
    }
    float* dc1 = at(off.dc1, W, r);
    keep(context_second, de, at(off.c1a, W, r));
    native::linear_input_grad(de, n, W, context_second.w(), W, dc1);
    native::activation_grad(at(off.c1, W, r), dc1, n * W, Activation::SiLU, dc1);
    keep(context_first, dc1, at(off.cin, C + 1, r));
  }
  if (!dx) return;
  float* dxr = dx + r * D;
  if (F == 0) return native::linear_input_grad(dh, n, W, in.w(), D, dxr);
  float* df = at(off.df, D + 2 * F, r);
  native::linear_input_grad(dh, n, W, in.w(), D + 2 * F, df);
  native::fourier_features_grad(f, df, n, D, fourier_basis.data_ptr<float>(), F, at(off.dphase, F, r), dxr);
}

// Rows r .. r + n - 1 of a kept forward pass, the first sweep: with `weights`, every layer's dL/dy
// kept for the second; and dL/dx into dx unless it is null.
void NativeMLP::Engine::backward_rows(int64_t r, int64_t n, const float* dv, bool weights, float* dx) {
  auto keep = [&](Layer& layer, const float* dy, const float* input) {
    if (weights) keep_dy(layer, dy, input, r, n);
  };
  auto h = [&](int64_t i) { return at(off.h + i * W, W, r); };
  const float* dvr = dv + r * D;
  float *dh = at(off.dh, W, r), *da = at(off.da, W, r);
  if (seed) {
    keep(out, dvr, h(depth));
    native::linear_input_grad(dvr, n, D, out.w(), W, dh);
    for (int64_t i = depth - 1; i >= 0; --i) {  // dz_i = dh_{i+1} relu'(z_i); dh_i = dz_i W_i
      native::activation_grad(at(off.z + i * W, W, r), dh, n * W, Activation::ReLU, dh);
      keep(ff1[i], dh, h(i));
      native::linear_input_grad(dh, n, W, ff1[i].w(), W, da);
      std::swap(dh, da);
    }
    return input_stage_grad(n, r, dh, weights, dx);
  }
  float* o = at(off.o, W, r);
  keep(out, dvr, o);
  native::linear_input_grad(dvr, n, D, out.w(), W, dh);
  native::activation_grad(h(depth), dh, n * W, act, dh);  // dL/dh_depth
  float* du = at(off.du, W, r);
  for (int64_t i = depth - 1; i >= 0; --i) {
    // dh holds dL/dh_{i+1}: it flows to h_i unchanged (the residual) and through the block's branch.
    float *z1 = at(off.z1 + i * W, W, r), *a = at(off.a + i * W, W, r), *a1 = at(off.a1 + i * W, W, r);
    float* u = film ? at(off.u + i * W, W, r) : h(i);
    keep(ff2[i], dh, a1);
    native::linear_input_grad(dh, n, W, ff2[i].w(), W, da);
    native::activation_grad(z1, da, n * W, act, da);  // dz1
    keep(ff1[i], da, a);
    native::linear_input_grad(da, n, W, ff1[i].w(), W, du);
    native::activation_grad(u, du, n * W, act, du);  // du
    if (!film) {
      add_rows(du, n * W, dh);
      continue;
    }
    // u = beta + h (1 + gamma): dgamma = du h, dbeta = du, dh += du (1 + gamma)
    float *gb = at(off.gb + i * 2 * W, 2 * W, r), *dgb = at(off.dgb, 2 * W, r), *hi = h(i);
    for (int64_t row = 0; row < n; ++row)
      for (int64_t j = 0; j < W; ++j) {
        float g = du[row * W + j];
        dgb[row * 2 * W + j] = g * hi[row * W + j];
        dgb[row * 2 * W + W + j] = g;
        dh[row * W + j] += g * (1.0f + gb[row * 2 * W + j]);
      }
    keep(film_layers[i], dgb, at(off.ea, W, r));
    native::linear_input_grad(dgb, n, 2 * W, film_layers[i].w(), W, at(off.dea, W, r), i < depth - 1);
  }
  input_stage_grad(n, r, dh, weights, dx);
  if (linear) linear_term_grad(r, n, dvr, weights, dx);
}

bool NativeMLP::runs(const VelocityModel& model) {
  std::string name = model.config().value("name", std::string());
  if (name != "seed-mlp" && name != "mlp") return false;
  for (const auto& p : model.parameters())
    if (p.scalar_type() != at::kFloat || p.device().type() != at::kCPU) return false;
  return true;
}

NativeMLP::NativeMLP(std::shared_ptr<VelocityModel> model, int threads) : model_(std::move(model)), engine_(new Engine) {
  if (!runs(*model_)) throw Error("the native engine runs float32 seed-mlp and mlp models on the CPU, not this " +
                                  model_->config().value("name", std::string("model")));
  Engine& e = *engine_;
  nlohmann::json c = model_->config();
  e.seed = c["name"] == "seed-mlp";
  e.D = c["data_dim"];
  e.W = c["width"];
  e.depth = c["depth"];
  e.time_dim = c["time_dim"];
  e.C = c.value("context_dim", int64_t(0));
  e.interval = c.value("interval", false);
  e.film = e.C > 0 && c.value("context_mode", std::string("add")) == "film";
  e.linear = c.value("linear_term", false);
  e.Z = e.D + e.C;
  e.time_scale = e.seed ? 10000.0f : float(c["time_scale"].get<double>());
  e.act = e.seed ? Activation::ReLU : native::activation_named(c["activation"]);
  e.F = e.seed ? 0 : c["fourier_features"].get<int64_t>();
  at::Tensor frequencies = sinusoidal_frequencies(e.time_dim).contiguous();  // the module's own
  e.frequencies.assign(frequencies.data_ptr<float>(), frequencies.data_ptr<float>() + frequencies.numel());
  e.threads = threads > 0 ? threads : int(std::max(1u, std::thread::hardware_concurrency()));

  auto parameters = model_->named_parameters();
  int64_t computed = 0;  // parameters the layers below cover: all of them, or the model is not the one expected
  auto layer = [&](const std::string& name) {
    Engine::Layer l;
    l.weight = parameters[name + ".weight"];
    l.bias = parameters[name + ".bias"];
    l.out = l.weight.size(0);
    l.in = l.weight.size(1);
    l.dy = e.dy_width;
    e.dy_width += l.out;
    computed += l.weight.numel() + l.bias.numel();
    return l;
  };
  e.in = layer("in_projection");
  e.time = layer("t_projection");
  if (e.interval) e.interval_time = layer("interval_projection");
  for (int64_t i = 0; i < e.depth; ++i) {
    std::string block = "blocks." + std::to_string(i);
    if (e.seed) {
      e.ff1.push_back(layer(block + ".ff"));
      continue;
    }
    e.ff1.push_back(layer(block + ".ff1"));
    e.ff2.push_back(layer(block + ".ff2"));
    if (e.film) e.film_layers.push_back(layer(block + ".film"));
  }
  e.out = layer("out_projection");
  if (e.C > 0) {
    e.context_first = layer("context_embedding.first");
    e.context_second = layer("context_embedding.second");
  }
  if (e.linear) e.linear_term = layer("linear_term");
  for (Engine::Layer* l : {&e.in, &e.time, &e.interval_time, &e.out, &e.context_first, &e.context_second, &e.linear_term})
    if (l->weight.defined()) e.layers.push_back(l);
  for (auto* list : {&e.ff1, &e.ff2, &e.film_layers})
    for (Engine::Layer& l : *list) e.layers.push_back(&l);
  if (e.F > 0) e.fourier_basis = model_->named_buffers()["fourier_basis"];
  e.parameters = parameter_count(*model_);
  if (computed != e.parameters)
    throw Error("the native engine computes " + std::to_string(computed) + " of this " + c["name"].get<std::string>() + "'s " +
                std::to_string(e.parameters) + " parameters");
  anchor_ = torch::zeros({}, torch::requires_grad());
}

NativeMLP::~NativeMLP() = default;

// v = NativeMLP(x) as a node of LibTorch's autograd graph, whose backward is the native one, doing
// what the graph task asks: dL/dx when x's gradient is wanted (likelihoods' vector-Jacobian
// products, torch::autograd::grad), and dL/dW added to the parameters' .grad() when every leaf's is
// (loss.backward(), a training step). Only tensor arguments are recorded: x, and `anchor`, a scalar
// leaf that requires a gradient and stands for the weights (its own gradient is always none).
struct NativePass : torch::autograd::Function<NativePass> {
  struct Rest {
    const at::Tensor &s, &t;
    const Condition& given;
  };
  static torch::autograd::variable_list forward(torch::autograd::AutogradContext* ctx, const at::Tensor& x,
                                                const at::Tensor& /*anchor*/, NativeMLP* model, const Rest& rest) {
    at::Tensor v = model->run(x, rest.s, rest.t, rest.given, true);
    ctx->saved_data["model"] = reinterpret_cast<int64_t>(model);
    ctx->saved_data["pass"] = int64_t(model->passes_);
    return {v};
  }
  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx, torch::autograd::variable_list grads) {
    auto* model = reinterpret_cast<NativeMLP*>(ctx->saved_data["model"].toInt());
    if (at::GradMode::is_enabled())
      throw Error("the native engine's gradients cannot themselves be differentiated: use --engine torch");
    if (uint64_t(ctx->saved_data["pass"].toInt()) != model->passes_)
      throw Error("the native engine keeps one forward pass for backward, and another one ran since");
    at::Tensor dx = model->backward(grads[0], ctx->needs_input_grad(0), ctx->needs_input_grad(1));
    return {dx, {}, {}, {}};
  }
};

at::Tensor NativeMLP::run(const at::Tensor& x, const at::Tensor& s, const at::Tensor& t, const Condition& given, bool keep) {
  Engine& e = *engine_;
  if (given.labels.defined()) return VelocityModel::forward_class(x, t, given.labels);  // says it takes no classes
  if (given.context.defined() && e.C == 0) return VelocityModel::forward_context(x, t, given.context, given.dropped);
  if (!keep && at::GradMode::is_enabled() && (x.requires_grad() || e.in.weight.requires_grad()))
    return NativePass::apply(x, anchor_, this, NativePass::Rest{s, t, given})[0];
  int64_t rows = x.dim() == 2 ? x.size(0) : -1;
  if (rows < 0 || x.size(1) != e.D || t.dim() != 1 || t.size(0) != rows || (s.defined() && s.sizes() != t.sizes()))
    throw Error("the model takes x [B, " + std::to_string(e.D) + "] and t [B], got " + c10::str(x.sizes()) + " and " +
                c10::str(t.sizes()));
  if (given.context.defined() && (given.context.dim() != 2 || given.context.size(0) != rows || given.context.size(1) != e.C))
    throw Error("the model takes a " + std::to_string(e.C) + "-D context per row, got shape " +
                c10::str(given.context.sizes()) + " for " + std::to_string(rows) + " rows");
  auto floats = [](const at::Tensor& a) { return a.defined() ? a.to(at::kFloat).contiguous() : a; };
  e.x = floats(x);
  e.t = floats(t);
  e.s = e.interval ? floats(s.defined() ? s : t) : at::Tensor();  // v(x, t) = u(x, t, t)
  e.context = floats(given.context);
  e.dropped = given.dropped.defined() ? given.dropped.to(at::kBool).contiguous() : at::Tensor();
  ++passes_;  // every pass reuses the activations' memory
  e.sum_input_biases(keep);
  at::Tensor v = at::empty({rows, e.D}, at::kFloat);
  float* vp = v.data_ptr<float>();
  if (keep) {  // one share of rows per thread, its activations kept in place for backward
    e.parts = native::row_parts(rows, e.threads, kMinRowsPerPart);
    e.plan(rows, true);
    native::split_rows(rows, e.parts, [&](int, int64_t begin, int64_t end) { e.forward_rows(begin, end - begin, begin, vp); });
    return v;
  }
  int parts = native::row_parts(rows, e.threads, kMinRowsPerPart);
  e.plan(parts * kTile, false);
  native::split_rows(rows, parts, [&](int part, int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; r += kTile) e.forward_rows(r, std::min(kTile, end - r), part * kTile, vp);
  });
  return v;
}

at::Tensor NativeMLP::training_forward(const at::Tensor& x, const at::Tensor& s, const at::Tensor& t, const Condition& given) {
  return run(x, s, t, given, true);
}

at::Tensor NativeMLP::backward(const at::Tensor& dv, bool input_grad, bool weight_grads) {
  Engine& e = *engine_;
  if (!e.kept || !e.x.defined()) throw Error("NativeMLP::backward needs a training_forward first");
  int64_t rows = e.x.size(0);
  at::Tensor grad_v = dv.to(at::kFloat).contiguous();
  if (grad_v.sizes() != e.x.sizes()) throw Error("dL/dv must have the shape of v, " + c10::str(e.x.sizes()));
  at::Tensor dx = input_grad ? at::empty({rows, e.D}, at::kFloat) : at::Tensor();
  const float* dvp = grad_v.data_ptr<float>();
  float* dxp = input_grad ? dx.data_ptr<float>() : nullptr;
  native::split_rows(rows, e.parts,
                     [&](int, int64_t begin, int64_t end) { e.backward_rows(begin, end - begin, dvp, weight_grads, dxp); });
  if (!weight_grads) return dx;
  {
    at::NoGradGuard no_grad;
    for (Engine::Layer* l : e.layers)
      for (at::Tensor* p : {&l->weight, &l->bias}) {
        at::Tensor& g = p->mutable_grad();
        if (!g.defined()) g = torch::zeros_like(*p);
        if (!g.is_contiguous()) g = g.contiguous();
      }
  }
  int parts = native::row_parts(rows * e.parameters, e.threads, kMinProductsPerPart);
  native::split_rows(parts, parts, [&](int part, int64_t, int64_t) { e.weight_grads(rows, part, parts); });
  return dx;
}

at::Tensor NativeMLP::forward(const at::Tensor& x, const at::Tensor& t) { return run(x, {}, t, Condition{}, false); }

bool NativeMLP::takes_interval() const { return model_->takes_interval(); }

at::Tensor NativeMLP::forward_average(const at::Tensor& x, const at::Tensor& s, const at::Tensor& t, const Condition& given) {
  if (!engine_->interval) return model_->forward_average(x, s, t, given);  // says it has no interval input
  return run(x, s, t, given, false);
}

int64_t NativeMLP::context_dim() const { return model_->context_dim(); }

at::Tensor NativeMLP::forward_context(const at::Tensor& x, const at::Tensor& t, const at::Tensor& context,
                                      const at::Tensor& dropped) {
  return run(x, {}, t, Condition{{}, context, dropped}, false);
}

nlohmann::json NativeMLP::config() const { return model_->config(); }

std::vector<int64_t> NativeMLP::sample_shape() const { return model_->sample_shape(); }

double NativeMLP::floats_per_row() const { return model_->floats_per_row(); }

}  // namespace flowmatch
