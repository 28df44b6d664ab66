#include "flowmatch/model/token_model.h"

#include <c10/util/Exception.h>

#include "flowmatch/core/error.h"
#include "flowmatch/data/token_data.h"

namespace flowmatch {

TokenShape take_token_shape(ModelConfig& config) {
  TokenShape shape{config.take<int64_t>("length", 0), config.take<int64_t>("vocabulary", 0)};
  if (shape.length < 1) throw Error("a token model's config needs length >= 1");
  if (shape.vocabulary < 2 || shape.vocabulary > kMaxVocabulary)
    throw Error("a token model's vocabulary must lie in 2 .. " + std::to_string(kMaxVocabulary) + ", got " +
                std::to_string(shape.vocabulary));
  return shape;
}

void TokenModel::check_tokens(const at::Tensor& x) const {
  if (x.dim() != 2 || x.size(1) != shape_.length || x.scalar_type() != at::kLong)
    throw Error("the token model takes int64 tokens [B, " + std::to_string(shape_.length) + "] (vocabulary " +
                std::to_string(shape_.vocabulary) + " and the mask), got " + c10::str(x.sizes()) + " " +
                std::string(c10::toString(x.scalar_type())));
}

}  // namespace flowmatch
