#include "flowmatch/dist/gradient_buckets.h"

#include <torch/torch.h>

#include "flowmatch/core/error.h"

namespace flowmatch {

GradientBuckets::GradientBuckets(std::vector<at::Tensor> parameters, ProcessGroup& group, int64_t bucket_bytes)
    : parameters_(std::move(parameters)), group_(group), slots_(parameters_.size()) {
  if (parameters_.empty()) return;
  at::TensorOptions options = parameters_[0].options().requires_grad(false);
  std::vector<int64_t> numels;  // per bucket
  for (size_t i = parameters_.size(); i-- > 0;) {
    const at::Tensor& p = parameters_[i];
    if (p.options().dtype() != options.dtype()) throw Error("gradient all-reduce takes parameters of one dtype");
    if (numels.empty() || numels.back() * int64_t(p.element_size()) >= bucket_bytes) numels.push_back(0);
    slots_[i] = {numels.size() - 1, numels.back(), false};
    numels.back() += p.numel();
  }
  buckets_.resize(numels.size());
  for (size_t b = 0; b < numels.size(); ++b) buckets_[b].flat = torch::zeros({numels[b]}, options);
  for (const Slot& slot : slots_) ++buckets_[slot.bucket].size;
  for (size_t i = 0; i < parameters_.size(); ++i)
    hooks_.push_back(parameters_[i].register_hook([this, i](const at::Tensor& grad) { add_gradient(i, grad); }));
}

GradientBuckets::~GradientBuckets() {
  for (size_t i = 0; i < hooks_.size(); ++i) parameters_[i].remove_hook(hooks_[i]);
}

int64_t GradientBuckets::bytes_per_step() const {
  int64_t bytes = 0;
  for (const auto& bucket : buckets_) bytes += bucket.flat.numel() * int64_t(bucket.flat.element_size());
  return bytes;
}

void GradientBuckets::begin(double share) {
  share_ = share;
  next_ = 0;
  for (auto& bucket : buckets_) {
    bucket.flat.zero_();
    bucket.pending = bucket.size;
    bucket.wait = nullptr;
  }
  for (auto& slot : slots_) slot.filled = false;
  // Backward must make fresh gradients, not add into last step's (which are views of the buckets).
  for (auto& p : parameters_) p.mutable_grad() = at::Tensor();
}

void GradientBuckets::add_gradient(size_t index, const at::Tensor& grad) {
  Slot& slot = slots_[index];
  Bucket& bucket = buckets_[slot.bucket];
  if (slot.filled) throw Error("a parameter received two gradients in one backward pass; the all-reduce has started");
  torch::NoGradGuard no_grad;
  // bucket[slot] = share * grad
  bucket.flat.narrow(0, slot.offset, grad.numel()).copy_(grad.reshape(-1)).mul_(share_);
  slot.filled = true;
  if (--bucket.pending == 0) start_ready_buckets();
}

void GradientBuckets::start_ready_buckets() {
  for (; next_ < buckets_.size() && buckets_[next_].pending == 0; ++next_)
    buckets_[next_].wait = group_.start_all_reduce_sum(buckets_[next_].flat, "the gradient all-reduce");
}

void GradientBuckets::finish() {
  // Gradients written into .grad() outside autograd (the native engine's backward) join now.
  for (size_t i = 0; i < parameters_.size(); ++i)
    if (!slots_[i].filled && parameters_[i].grad().defined()) add_gradient(i, parameters_[i].grad());
  for (auto& bucket : buckets_) bucket.pending = 0;
  start_ready_buckets();
  for (auto& bucket : buckets_) bucket.wait();
  for (size_t i = 0; i < parameters_.size(); ++i) {
    const at::Tensor& p = parameters_[i];
    parameters_[i].mutable_grad() = buckets_[slots_[i].bucket].flat.narrow(0, slots_[i].offset, p.numel()).view_as(p);
  }
}

}  // namespace flowmatch
