#include "flowmatch/train/ema.h"

#include <torch/torch.h>

#include <algorithm>

namespace flowmatch {

Ema::Ema(torch::nn::Module& module, double decay) : decay_(decay) {
  torch::NoGradGuard no_grad;
  for (auto& p : module.parameters()) {
    params_.push_back(p);
    shadow_.push_back(p.detach().clone());
  }
}

void Ema::update(int64_t step) {
  torch::NoGradGuard no_grad;
  double d = std::min(decay_, (1.0 + double(step)) / (10.0 + double(step)));
  for (size_t i = 0; i < params_.size(); ++i) shadow_[i].lerp_(params_[i], 1.0 - d);
}

void Ema::copy_to(torch::nn::Module& target) const {
  torch::NoGradGuard no_grad;
  auto params = target.parameters();
  for (size_t i = 0; i < params.size(); ++i) params[i].copy_(shadow_[i]);
}

}  // namespace flowmatch
