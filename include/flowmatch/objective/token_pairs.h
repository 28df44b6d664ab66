#pragma once
#include <ATen/core/Generator.h>

#include "flowmatch/data/token_data.h"
#include "flowmatch/objective/training_pairs.h"

namespace flowmatch {

// Token sequences x1 [B, L] from token data (fresh draws from the built-in, or rows drawn with
// replacement), each paired with a source sequence x0 of the mixture path (mixture_path.h): all
// mask tokens, or uniform tokens.
class TokenPairs : public TrainingPairs {
 public:
  // Throws Error for an unknown source.
  TokenPairs(TokenData data, std::string source);
  std::vector<int64_t> sample_shape() const override { return {data_.length}; }
  std::string describe() const override { return data_.description + " from the " + source_ + " source"; }
  PairBatch draw(int64_t batch, at::Generator& gen) const override;

 private:
  TokenData data_;
  std::string source_;
};

}  // namespace flowmatch
