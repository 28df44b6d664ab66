#pragma once
#include <ATen/core/Tensor.h>

#include <vector>

#include "flowmatch/model/model_config.h"
#include "flowmatch/model/velocity_model.h"

namespace flowmatch {

// The sequence length L and vocabulary V every token model's config holds.
struct TokenShape {
  int64_t length = 0, vocabulary = 0;
};
// "length" >= 1 and "vocabulary" in 2 .. kMaxVocabulary (data/token_data.h); throws Error otherwise.
TokenShape take_token_shape(ModelConfig& config);

// What the token models (velocity_model.h: logits [B, L, V] of x1 given x_t [B, L]) share: their
// shape, and the check of their input.
class TokenModel : public VelocityModel {
 public:
  int64_t vocabulary() const override { return shape_.vocabulary; }
  std::vector<int64_t> sample_shape() const override { return {shape_.length}; }

 protected:
  explicit TokenModel(TokenShape shape) : shape_(shape) {}
  // Throws Error unless x is [B, L] int64 (its values are the caller's to keep in 0 .. V).
  void check_tokens(const at::Tensor& x) const;

  TokenShape shape_;
};

}  // namespace flowmatch
