#include "flowmatch/train/fused_adamw.h"

#include <torch/torch.h>

#include <cmath>
#include <thread>

#include "flowmatch/core/error.h"
#include "flowmatch/native/adamw.h"
#include "flowmatch/native/row_split.h"

namespace flowmatch {

namespace {
constexpr int64_t kMinValuesPerPart = int64_t(1) << 16;  // fewer per thread: fewer threads

// ATen's key for a parameter's state in an optimizer.
std::string state_key(const at::Tensor& p) { return c10::guts::to_string(p.unsafeGetTensorImpl()); }
}  // namespace

FusedAdamW::FusedAdamW(std::vector<at::Tensor> parameters, const TrainOptions& options, Ema* ema, int threads)
    : parameters_(std::move(parameters)),
      ema_(ema),
      weight_decay_(options.weight_decay),
      beta1_(options.beta1),
      beta2_(options.beta2),
      threads_(threads > 0 ? threads : int(std::max(1u, std::thread::hardware_concurrency()))) {
  torch::NoGradGuard no_grad;
  int64_t total = 0;
  for (const auto& p : parameters_) {
    if (p.scalar_type() != at::kFloat || !p.device().is_cpu())
      throw Error("the fused optimizer takes float32 parameters on the CPU");
    offsets_.push_back(total);
    total += p.numel();
  }
  params_ = torch::empty({total});
  grads_ = torch::zeros({total});
  m_ = torch::zeros({total});
  v_ = torch::zeros({total});
  for (size_t i = 0; i < parameters_.size(); ++i) {
    at::Tensor& p = parameters_[i];
    auto view = [&](const at::Tensor& flat) { return flat.narrow(0, offsets_[i], p.numel()).view(p.sizes()); };
    view(params_).copy_(p);
    p.set_data(view(params_));  // the module's parameter now lives in the flat buffer
    p.mutable_grad() = view(grads_);
  }
  if (ema_ && ema_->flat().numel() != total) throw Error("the EMA does not cover the optimizer's parameters");
}

template <typename Body>
void FusedAdamW::split(const Body& body) const {
  int parts = native::row_parts(params_.numel(), threads_, kMinValuesPerPart);
  native::split_rows(params_.numel(), parts, body);
}

void FusedAdamW::gather_gradients() {
  torch::NoGradGuard no_grad;
  for (size_t i = 0; i < parameters_.size(); ++i) {
    const at::Tensor& g = parameters_[i].grad();
    float* flat = grads_.data_ptr<float>() + offsets_[i];
    if (!g.defined())
      grads_.narrow(0, offsets_[i], parameters_[i].numel()).zero_();
    else if (g.data_ptr<float>() != flat)
      grads_.narrow(0, offsets_[i], parameters_[i].numel()).copy_(g.reshape(-1));
  }
}

double FusedAdamW::gradient_norm() {
  gather_gradients();
  std::vector<double> sums(size_t(threads_), 0.0);
  const float* g = grads_.data_ptr<float>();
  split([&](int part, int64_t begin, int64_t end) { sums[size_t(part)] = native::sum_of_squares(g + begin, end - begin); });
  double sum = 0;
  for (double s : sums) sum += s;
  return std::sqrt(sum);  // ||g||_2 over every parameter
}

void FusedAdamW::step(double lr, double clip, int64_t step) {
  gather_gradients();
  ++steps_;
  native::AdamWStep s;
  s.lr = lr;
  s.weight_decay = weight_decay_;
  s.beta1 = beta1_;
  s.beta2 = beta2_;
  s.k = steps_;
  s.clip = clip;
  s.ema_decay = ema_ ? ema_->decay_at(step) : 0;
  float *p = params_.data_ptr<float>(), *g = grads_.data_ptr<float>(), *m = m_.data_ptr<float>(), *v = v_.data_ptr<float>();
  float* ema = ema_ ? ema_->flat().data_ptr<float>() : nullptr;
  split([&](int, int64_t begin, int64_t end) {
    native::adamw_step(s, p + begin, g + begin, m + begin, v + begin, ema ? ema + begin : nullptr, end - begin);
  });
}

void FusedAdamW::save_to(torch::optim::AdamW& optimizer) const {
  if (steps_ == 0) return;  // no step yet: AdamW's state is empty too
  auto& state = optimizer.state();
  for (size_t i = 0; i < parameters_.size(); ++i) {
    const at::Tensor& p = parameters_[i];
    auto moment = [&](const at::Tensor& flat) { return flat.narrow(0, offsets_[i], p.numel()).view(p.sizes()).clone(); };
    auto s = std::make_unique<torch::optim::AdamWParamState>();
    s->step(steps_);
    s->exp_avg(moment(m_));
    s->exp_avg_sq(moment(v_));
    state[state_key(p)] = std::move(s);
  }
}

void FusedAdamW::load_from(torch::optim::AdamW& optimizer) {
  torch::NoGradGuard no_grad;
  auto& state = optimizer.state();
  steps_ = 0;
  m_.zero_();
  v_.zero_();
  for (size_t i = 0; i < parameters_.size(); ++i) {
    const at::Tensor& p = parameters_[i];
    auto found = state.find(state_key(p));
    if (found == state.end()) continue;  // saved before its first step
    auto& s = static_cast<torch::optim::AdamWParamState&>(*found->second);
    if (steps_ > 0 && s.step() != steps_) throw Error("the saved AdamW state has parameters at different steps");
    steps_ = s.step();
    m_.narrow(0, offsets_[i], p.numel()).copy_(s.exp_avg().reshape(-1));
    v_.narrow(0, offsets_[i], p.numel()).copy_(s.exp_avg_sq().reshape(-1));
  }
}

}  // namespace flowmatch
