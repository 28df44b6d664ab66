#include "flowmatch/metrics/c2st.h"

#include <torch/torch.h>

#include <cmath>
#include <exception>
#include <random>
#include <thread>
#include <vector>

#include "flowmatch/core/error.h"
#include "flowmatch/core/threads.h"

namespace flowmatch {

namespace {
// c = op(a) op(b) for row-major float matrices: op(a) is [m, k], op(b) is [k, n], c is [m, n]; op
// transposes when asked. One GEMM through LibTorch's BLAS, without allocating.
void matrix_product(const float* a, bool transpose_a, const float* b, bool transpose_b, float* c, int64_t m, int64_t k,
                    int64_t n) {
  auto view = [](const float* p, int64_t rows, int64_t cols, bool transpose) {
    at::Tensor t = torch::from_blob(const_cast<float*>(p), {transpose ? cols : rows, transpose ? rows : cols});
    return transpose ? t.t() : t;
  };
  at::Tensor out = torch::from_blob(c, {m, n});
  at::mm_out(out, view(a, m, k, transpose_a), view(b, k, n, transpose_b));
}

// Uniform on [0, 1) from 24 random bits.
float uniform(std::mt19937_64& gen) { return float(gen() >> 40) * 0x1p-24f; }

// scikit-learn's MLPClassifier for this test: D -> H -> H -> 1 with ReLU and a logistic output,
// weights stored [in, out] as scikit-learn keeps them. Parameters, gradients and Adam's moments are
// flat buffers, so Adam is one pass; the activations of one batch live in buffers allocated once.
class Classifier {
 public:
  Classifier(int64_t d, int64_t batch, std::mt19937_64& gen) {
    const int64_t h = 10 * d;
    int64_t offset = 0;
    for (auto [in, out] : {std::pair{d, h}, {h, h}, {h, int64_t(1)}}) {
      layers_.push_back({in, out, offset, offset + in * out});
      offset += (in + 1) * out;
      outputs_.emplace_back(batch * out);
      gradients_.emplace_back(batch * out);
    }
    for (auto* buffer : {&p_, &g_, &m_, &v_}) buffer->assign(offset, 0.0f);
    // Glorot-uniform weights and biases, bound sqrt(6 / (fan_in + fan_out)), as scikit-learn draws them.
    for (const Layer& l : layers_) {
      float bound = std::sqrt(6.0f / float(l.in + l.out));
      for (int64_t i = l.w; i < l.b + l.out; ++i) p_[i] = (2 * uniform(gen) - 1) * bound;
    }
  }

  // The logits z of `rows` rows of x [rows, D] (rows <= batch): a_{l+1} = relu(a_l W_l + b_l), with
  // no ReLU on the last layer.
  const float* logits(const float* x, int64_t rows) {
    const float* in = x;
    for (size_t l = 0; l < layers_.size(); ++l) {
      const Layer& layer = layers_[l];
      float* out = outputs_[l].data();
      matrix_product(in, false, p_.data() + layer.w, false, out, rows, layer.in, layer.out);
      const float* b = p_.data() + layer.b;
      const bool relu = l + 1 < layers_.size();
      for (int64_t r = 0; r < rows; ++r)
        for (int64_t j = 0; j < layer.out; ++j) {
          float& a = out[r * layer.out + j];
          a = relu ? std::max(a + b[j], 0.0f) : a + b[j];
        }
      in = out;
    }
    return in;
  }

  // One Adam step on a batch (x [rows, D], labels y in {0, 1}); returns its loss, the mean log-loss
  // + alpha/2 |W|^2 / rows, as scikit-learn reports it.
  double step(const float* x, const float* y, int64_t rows, const C2stOptions& o) {
    const float* z = logits(x, rows);
    const float scale = 1.0f / float(rows);
    // Log-loss of logits: max(z, 0) - z y + log(1 + exp(-|z|)); its gradient dL/dz = (sigmoid(z) - y) / B.
    double loss = 0;
    float* dz = gradients_.back().data();
    for (int64_t r = 0; r < rows; ++r) {
      loss += std::max(z[r], 0.0f) - z[r] * y[r] + std::log1p(std::exp(-std::abs(z[r])));
      dz[r] = (1.0f / (1.0f + std::exp(-z[r])) - y[r]) * scale;
    }
    double squares = 0;
    for (const Layer& l : layers_)
      for (int64_t i = l.w; i < l.b; ++i) squares += double(p_[i]) * p_[i];
    loss = loss * scale + 0.5 * o.alpha * scale * squares;
    // Backward, last layer first: dW = a_in^T dA + alpha / B W, db = column sums of dA, and
    // dA_in = dA W^T where a_in > 0 (the ReLU), 0 elsewhere.
    for (size_t l = layers_.size(); l-- > 0;) {
      const Layer& layer = layers_[l];
      const float* in = l > 0 ? outputs_[l - 1].data() : x;
      const float* d = gradients_[l].data();
      matrix_product(in, true, d, false, g_.data() + layer.w, layer.in, rows, layer.out);
      for (int64_t i = layer.w; i < layer.b; ++i) g_[i] += float(o.alpha) * scale * p_[i];
      float* db = g_.data() + layer.b;
      std::fill(db, db + layer.out, 0.0f);
      for (int64_t r = 0; r < rows; ++r)
        for (int64_t j = 0; j < layer.out; ++j) db[j] += d[r * layer.out + j];
      if (l == 0) break;
      float* d_in = gradients_[l - 1].data();
      matrix_product(d, false, p_.data() + layer.w, true, d_in, rows, layer.out, layer.in);
      for (int64_t i = 0; i < rows * layer.in; ++i) d_in[i] = in[i] > 0 ? d_in[i] : 0.0f;
    }
    adam(o.lr);
    return loss;
  }

 private:
  // One layer's shape and the offsets of its W [in, out] and b [out] in the flat buffers.
  struct Layer {
    int64_t in, out, w, b;
  };

  // Adam: m = b1 m + (1 - b1) g, v = b2 v + (1 - b2) g^2, p -= lr sqrt(1 - b2^t) / (1 - b1^t) m / (sqrt v + eps).
  void adam(double lr) {
    const float b1 = 0.9f, b2 = 0.999f, eps = 1e-8f;
    ++t_;
    const float step_size = float(lr * std::sqrt(1 - std::pow(0.999, double(t_))) / (1 - std::pow(0.9, double(t_))));
    float *__restrict p = p_.data(), *__restrict m = m_.data(), *__restrict v = v_.data();
    const float* __restrict g = g_.data();
    for (size_t i = 0; i < p_.size(); ++i) {
      m[i] = b1 * m[i] + (1 - b1) * g[i];
      v[i] = b2 * v[i] + (1 - b2) * g[i] * g[i];
      p[i] -= step_size * m[i] / (std::sqrt(v[i]) + eps);
    }
  }

  std::vector<Layer> layers_;
  std::vector<float> p_, g_, m_, v_;                    // parameters, gradients, Adam's moments
  std::vector<std::vector<float>> outputs_, gradients_;  // per layer: one batch's outputs and dL/d(output)
  int64_t t_ = 0;                                        // Adam steps
};

// Trains on the rows `train` of (x [n, D], y) until the epoch loss stops improving; returns the
// accuracy on the rows `test`.
double fold_accuracy(const std::vector<float>& x, const std::vector<float>& y, int64_t d, const std::vector<int64_t>& train,
                     const std::vector<int64_t>& test, const C2stOptions& o, uint64_t seed) {
  std::mt19937_64 gen(seed);
  const int64_t n = int64_t(train.size()), batch = std::min(o.batch, n);
  Classifier classifier(d, batch, gen);
  std::vector<int64_t> order = train;
  std::vector<float> xs(n * d), ys(n);  // this epoch's rows, in its order; batches are slices
  double best = INFINITY;
  int64_t stale = 0;
  for (int64_t epoch = 0; epoch < o.max_epochs && stale <= o.epochs_without_improvement; ++epoch) {
    for (int64_t i = n - 1; i > 0; --i) std::swap(order[i], order[gen() % uint64_t(i + 1)]);  // Fisher-Yates
    for (int64_t i = 0; i < n; ++i) {
      std::copy_n(x.data() + order[i] * d, d, xs.data() + i * d);
      ys[i] = y[order[i]];
    }
    double total = 0;
    for (int64_t start = 0; start < n; start += batch) {
      int64_t rows = std::min(batch, n - start);
      total += classifier.step(xs.data() + start * d, ys.data() + start, rows, o) * double(rows);
    }
    double loss = total / double(n);
    stale = loss > best - o.tol ? stale + 1 : 0;
    best = std::min(best, loss);
  }
  int64_t correct = 0;
  std::vector<float> rows_x(batch * d);
  for (size_t start = 0; start < test.size(); start += size_t(batch)) {
    int64_t rows = std::min<int64_t>(batch, int64_t(test.size() - start));
    for (int64_t i = 0; i < rows; ++i) std::copy_n(x.data() + test[start + i] * d, d, rows_x.data() + i * d);
    const float* z = classifier.logits(rows_x.data(), rows);
    for (int64_t i = 0; i < rows; ++i) correct += (z[i] > 0) == (y[test[start + i]] > 0.5f);
  }
  return double(correct) / double(test.size());
}
}  // namespace

double c2st(const at::Tensor& reference, const at::Tensor& samples, const C2stOptions& o) {
  if (reference.dim() != 2 || samples.dim() != 2 || reference.size(1) != samples.size(1))
    throw Error("C2ST compares two sets of points of one width, got " + c10::str(reference.sizes()) + " and " +
                c10::str(samples.sizes()));
  if (o.folds < 2 || reference.size(0) + samples.size(0) < 2 * o.folds)
    throw Error("C2ST needs at least 2 folds and 2 points per fold");
  if (!torch::isfinite(reference).all().item<bool>() || !torch::isfinite(samples).all().item<bool>())
    throw Error("C2ST: the points hold NaN or infinite values");
  torch::NoGradGuard no_grad;
  at::Tensor ref = reference.to(torch::kDouble), other = samples.to(torch::kDouble);
  at::Tensor mean = ref.mean(0), std = ref.std(0).clamp_min(1e-12);  // the reference's z-score, for both sets
  at::Tensor z_scored = torch::cat({(ref - mean) / std, (other - mean) / std}).to(torch::kFloat).contiguous();
  const int64_t n = z_scored.size(0), d = z_scored.size(1);
  std::vector<float> x(z_scored.data_ptr<float>(), z_scored.data_ptr<float>() + n * d), y(n, 0.0f);
  std::fill(y.begin() + ref.size(0), y.end(), 1.0f);
  std::mt19937_64 gen(o.seed);
  std::vector<int64_t> order(n);
  for (int64_t i = 0; i < n; ++i) order[i] = i;
  for (int64_t i = n - 1; i > 0; --i) std::swap(order[i], order[gen() % uint64_t(i + 1)]);
  // The folds train at once, one per thread (each fold's generator is its own, so the result does
  // not depend on the thread count): the classifier's products are too small to split.
  std::vector<double> accuracy(o.folds);
  std::vector<std::thread> workers;
  std::exception_ptr failure;  // a fold's error, rethrown here (one is enough to say)
  OneThreadPerTask one_thread_per_fold;
  const int threads = one_thread_per_fold.tasks();
  for (int64_t k = 0, start = 0; k < o.folds; ++k) {
    int64_t size = n / o.folds + (k < n % o.folds ? 1 : 0);  // the first n % folds folds hold one more
    std::vector<int64_t> test(order.begin() + start, order.begin() + start + size), train(order.begin(), order.begin() + start);
    train.insert(train.end(), order.begin() + start + size, order.end());
    start += size;
    if (int64_t(workers.size()) == threads) {  // at most `threads` folds at a time
      for (auto& w : workers) w.join();
      workers.clear();
    }
    workers.emplace_back([&, k, train = std::move(train), test = std::move(test)] {
      try {
        at::set_num_threads(1);  // OpenMP's thread count is per thread: each worker sets its own
        accuracy[k] = fold_accuracy(x, y, d, train, test, o, o.seed + 1 + uint64_t(k));
      } catch (...) {
        failure = std::current_exception();
      }
    });
  }
  for (auto& w : workers) w.join();
  if (failure) std::rethrow_exception(failure);
  double held_out_accuracy = 0;
  for (double a : accuracy) held_out_accuracy += a / double(o.folds);
  return held_out_accuracy;
}

}  // namespace flowmatch
