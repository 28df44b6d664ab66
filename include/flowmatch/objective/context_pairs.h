#pragma once
#include <ATen/core/Generator.h>
#include <ATen/core/Tensor.h>

#include <optional>
#include <string>

#include "flowmatch/objective/training_pairs.h"

namespace flowmatch {

// Rows (x1, c) of a fixed set, each paired with its own noise x0 ~ N(0, I): flow matching for
// p(x | c). The pairing is the independent coupling, row by row: a minibatch OT coupling would
// pair a row's noise with another row's x1, whose context differs, and learn a field for neither.
// A share of the rows is held out (validation), for the trainer to score and keep its best model.
class ContextPairs : public TrainingPairs {
 public:
  // x [N, D] and context [N, C], finite, in the units the model sees (already standardized);
  // `validation` in [0, 0.5) of the rows (at least one, while leaving one to train on) are held
  // out, chosen by `gen`. Throws Error for unequal row counts or a bad share.
  ContextPairs(at::Tensor x, at::Tensor context, double validation, std::string description, at::Generator& gen);
  std::vector<int64_t> sample_shape() const override { return {x_.size(1)}; }
  int64_t context_dim() const override { return context_.size(1); }
  std::string describe() const override;
  PairBatch draw(int64_t batch, at::Generator& gen) const override;
  std::optional<PairBatch> held_out() const override;

 private:
  at::Tensor x_, context_;                   // the rows trained on
  at::Tensor held_out_x_, held_out_context_;  // undefined without validation
  std::string description_;
};

}  // namespace flowmatch
