#pragma once
#include <ATen/core/Tensor.h>
#include <torch/optim/adamw.h>

#include <vector>

#include "flowmatch/train/ema.h"
#include "flowmatch/train/training_options.h"

namespace flowmatch {

// The native engine's optimizer: clipping, AdamW and the EMA as one pass over flat float buffers
// (native/adamw.h), split across the cores, in place of LibTorch's AdamW, clip_grad_norm_ and
// Ema::update, which walk the parameters tensor by tensor, several passes each.
//
// The parameters and their gradients move into one flat buffer each: the module's tensors become
// views of them, so the module, its state_dict and its weights files stay as they were. AdamW's
// moments live in two more; the EMA's shadow is flat already (ema.h). The moments go to and from
// torch::optim::AdamW's state for the training state's file, so a run saved by either optimizer
// resumes with either.
class FusedAdamW {
 public:
  // The parameters must be float32 on the CPU. `threads` share the pass (0 = one per core).
  FusedAdamW(std::vector<at::Tensor> parameters, const TrainOptions& options, Ema* ema, int threads = 0);

  // The gradients' global L2 norm, as clip_grad_norm_ computes it.
  double gradient_norm();
  // Step `step` (from 0) at learning rate lr: gradients scaled by `clip` (1 = none), AdamW, the EMA,
  // and the gradients zeroed for the next backward pass to add into.
  void step(double lr, double clip, int64_t step);

  // AdamW's state in `optimizer` (over the same parameters, in the same order): written before the
  // training state is saved, read after it is restored.
  void save_to(torch::optim::AdamW& optimizer) const;
  void load_from(torch::optim::AdamW& optimizer);

 private:
  // Copies into the flat buffer any gradient that lies elsewhere (the data-parallel all-reduce
  // leaves them in its buckets).
  void gather_gradients();
  template <typename Body>
  void split(const Body& body) const;

  std::vector<at::Tensor> parameters_;
  std::vector<int64_t> offsets_;
  at::Tensor params_, grads_, m_, v_;
  Ema* ema_;
  double weight_decay_, beta1_, beta2_;
  int64_t steps_ = 0;  // AdamW steps taken
  int threads_;
};

}  // namespace flowmatch
