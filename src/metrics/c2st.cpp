#include "flowmatch/metrics/c2st.h"

#include <torch/torch.h>

#include <cmath>
#include <exception>
#include <thread>
#include <vector>

#include "flowmatch/core/error.h"

namespace flowmatch {

namespace {
// The classifier's weights, their gradients and Adam's moments, as one set of tensors each.
struct Mlp {
  std::vector<at::Tensor> params, grads, m, v;
  int64_t t = 0;  // Adam steps

  // Glorot-uniform weights and biases, bound sqrt(6 / (fan_in + fan_out)), as scikit-learn draws them.
  Mlp(int64_t d, int64_t hidden, at::Generator& gen) {
    const std::vector<std::pair<int64_t, int64_t>> shapes = {{hidden, d}, {hidden, hidden}, {1, hidden}};
    for (auto [out, in] : shapes) {
      double bound = std::sqrt(6.0 / double(in + out));
      params.push_back((torch::rand({out, in}, gen) * 2 - 1) * bound);
      params.push_back((torch::rand({out}, gen) * 2 - 1) * bound);
    }
    for (const auto& p : params) {
      grads.push_back(torch::zeros_like(p));
      m.push_back(torch::zeros_like(p));
      v.push_back(torch::zeros_like(p));
    }
  }

  // The logits z [B] of the rows x [B, D].
  at::Tensor logits(const at::Tensor& x, at::Tensor* h1 = nullptr, at::Tensor* h2 = nullptr) const {
    at::Tensor a1 = torch::relu(torch::addmm(params[1], x, params[0].t()));
    at::Tensor a2 = torch::relu(torch::addmm(params[3], a1, params[2].t()));
    if (h1) *h1 = a1;
    if (h2) *h2 = a2;
    return torch::addmm(params[5], a2, params[4].t()).squeeze(1);
  }

  // One Adam step on a batch; returns its loss, the mean log-loss + alpha/2 |W|^2 / B, as a tensor
  // (read once per epoch).
  at::Tensor step(const at::Tensor& x, const at::Tensor& y, const C2stOptions& o) {
    const double b = double(x.size(0));
    at::Tensor h1, h2;
    at::Tensor z = logits(x, &h1, &h2);
    at::Tensor squares = params[0].pow(2).sum() + params[2].pow(2).sum() + params[4].pow(2).sum();
    at::Tensor loss = torch::binary_cross_entropy_with_logits(z, y) + 0.5 * o.alpha / b * squares;
    // Backward by hand: dL/dz = (sigmoid(z) - y) / B, then through each ReLU layer.
    at::Tensor dz = ((torch::sigmoid(z) - y) / b).unsqueeze(1);
    grads[4] = dz.t().mm(h2);
    grads[5] = dz.sum(0);
    at::Tensor d2 = dz.mm(params[4]) * (h2 > 0);
    grads[2] = d2.t().mm(h1);
    grads[3] = d2.sum(0);
    at::Tensor d1 = d2.mm(params[2]) * (h1 > 0);
    grads[0] = d1.t().mm(x);
    grads[1] = d1.sum(0);
    for (int i : {0, 2, 4}) grads[i] += o.alpha / b * params[i];
    // Adam: m = b1 m + (1 - b1) g, v = b2 v + (1 - b2) g^2, p -= lr sqrt(1 - b2^t) / (1 - b1^t) m / (sqrt v + eps).
    ++t;
    const double b1 = 0.9, b2 = 0.999, eps = 1e-8;
    double step_size = o.lr * std::sqrt(1 - std::pow(b2, double(t))) / (1 - std::pow(b1, double(t)));
    for (size_t i = 0; i < params.size(); ++i) {
      m[i].mul_(b1).add_(grads[i], 1 - b1);
      v[i].mul_(b2).addcmul_(grads[i], grads[i], 1 - b2);
      params[i].addcdiv_(m[i], v[i].sqrt().add_(eps), -step_size);
    }
    return loss;
  }
};

// Trains on (x, y) until the epoch loss stops improving; returns the accuracy on (x_test, y_test).
double fold_accuracy(const at::Tensor& x, const at::Tensor& y, const at::Tensor& x_test, const at::Tensor& y_test,
                     const C2stOptions& o, at::Generator gen) {
  Mlp mlp(x.size(1), 10 * x.size(1), gen);
  const int64_t n = x.size(0), batch = std::min(o.batch, n);
  double best = INFINITY;
  int64_t stale = 0;
  for (int64_t epoch = 0; epoch < o.max_epochs && stale <= o.epochs_without_improvement; ++epoch) {
    at::Tensor order = torch::randperm(n, gen, torch::kLong);
    at::Tensor xs = x.index_select(0, order), ys = y.index_select(0, order);  // this epoch's order; batches are slices
    at::Tensor total = torch::zeros({}, torch::kDouble);
    for (int64_t start = 0; start < n; start += batch) {
      int64_t end = std::min(start + batch, n);
      total += mlp.step(xs.slice(0, start, end), ys.slice(0, start, end), o) * double(end - start);
    }
    double loss = total.item<double>() / double(n);
    stale = loss > best - o.tol ? stale + 1 : 0;
    best = std::min(best, loss);
  }
  at::Tensor predicted = (mlp.logits(x_test) > 0).to(torch::kFloat);
  return (predicted == y_test).to(torch::kDouble).mean().item<double>();
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
  at::Tensor x = torch::cat({(ref - mean) / std, (other - mean) / std}).to(torch::kFloat);
  at::Tensor y = torch::cat({torch::zeros({ref.size(0)}), torch::ones({other.size(0)})});
  at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(o.seed);
  const int64_t n = x.size(0);
  at::Tensor order = torch::randperm(n, gen, torch::kLong);
  // The folds train at once, one per thread (each fold's generator is its own, so the result does
  // not depend on the thread count): the classifier's operations are too small to split.
  std::vector<double> accuracy(o.folds);
  std::vector<std::thread> workers;
  std::exception_ptr failure;  // a fold's error, rethrown here (one is enough to say)
  const int threads = at::get_num_threads();
  at::set_num_threads(1);
  for (int64_t k = 0, start = 0; k < o.folds; ++k) {
    int64_t size = n / o.folds + (k < n % o.folds ? 1 : 0);  // the first n % folds folds hold one more
    at::Tensor test = order.slice(0, start, start + size);
    at::Tensor train = torch::cat({order.slice(0, 0, start), order.slice(0, start + size)});
    start += size;
    if (int64_t(workers.size()) == threads) {  // at most `threads` folds at a time
      for (auto& w : workers) w.join();
      workers.clear();
    }
    workers.emplace_back([&, k, train, test] {
      try {
        at::set_num_threads(1);  // OpenMP's thread count is per thread: each worker sets its own
        torch::NoGradGuard no_grad;
        accuracy[k] = fold_accuracy(x.index_select(0, train), y.index_select(0, train), x.index_select(0, test),
                                    y.index_select(0, test), o, at::make_generator<at::CPUGeneratorImpl>(o.seed + 1 + k));
      } catch (...) {
        failure = std::current_exception();
      }
    });
  }
  for (auto& w : workers) w.join();
  at::set_num_threads(threads);
  if (failure) std::rethrow_exception(failure);
  double held_out_accuracy = 0;
  for (double a : accuracy) held_out_accuracy += a / double(o.folds);
  return held_out_accuracy;
}

}  // namespace flowmatch
