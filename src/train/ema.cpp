#include "flowmatch/train/ema.h"

#include <torch/torch.h>

#include <algorithm>

namespace flowmatch {

Ema::Ema(torch::nn::Module& module, double decay) : decay_(decay) {
  torch::NoGradGuard no_grad;
  params_ = module.parameters();
  std::vector<at::Tensor> flattened;
  for (const auto& p : params_) flattened.push_back(p.detach().reshape(-1));
  flat_ = torch::cat(flattened);
  int64_t offset = 0;
  for (const auto& p : params_) {
    shadow_.push_back(flat_.narrow(0, offset, p.numel()).view(p.sizes()));
    offset += p.numel();
  }
}

double Ema::decay_at(int64_t step) const { return std::min(decay_, (1.0 + double(step)) / (10.0 + double(step))); }

void Ema::update(int64_t step) {
  torch::NoGradGuard no_grad;
  double d = decay_at(step);
  for (size_t i = 0; i < params_.size(); ++i) shadow_[i].lerp_(params_[i], 1.0 - d);
}

void Ema::copy_to(torch::nn::Module& target) const {
  torch::NoGradGuard no_grad;
  auto params = target.parameters();
  for (size_t i = 0; i < params.size(); ++i) params[i].copy_(shadow_[i]);
}

}  // namespace flowmatch
