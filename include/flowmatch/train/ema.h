#pragma once
#include <torch/nn/module.h>

#include <vector>

namespace flowmatch {

// An exponential moving average of a module's parameters:
//   shadow = d * shadow + (1 - d) * param,  d = min(decay, (1 + step) / (10 + step)),
// the warm-up keeping early averages from clinging to the random initialisation. The averages lie
// in one flat buffer, in the order of the module's parameters, which the native engine's fused
// optimizer updates in the same pass as AdamW (fused_adamw.h).
class Ema {
 public:
  Ema(torch::nn::Module& module, double decay);
  // d at step `step` (from 0)
  double decay_at(int64_t step) const;
  void update(int64_t step);
  // Copies the averaged parameters into `target`, a module of the same structure.
  void copy_to(torch::nn::Module& target) const;
  // The averages, one per parameter in order (views of flat()): saved and restored with the training state.
  std::vector<at::Tensor>& shadow() { return shadow_; }
  const at::Tensor& flat() const { return flat_; }

 private:
  double decay_;
  std::vector<at::Tensor> params_, shadow_;
  at::Tensor flat_;
};

}  // namespace flowmatch
