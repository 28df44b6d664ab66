#include "flowmatch/objective/token_pairs.h"

#include "flowmatch/ode/mixture_path.h"

namespace flowmatch {

TokenPairs::TokenPairs(TokenData data, std::string source) : data_(std::move(data)), source_(std::move(source)) {
  check_token_source(source_);
}

PairBatch TokenPairs::draw(int64_t batch, at::Generator& gen) const {
  PairBatch pairs;
  pairs.x1 = data_.batch(batch, gen);
  pairs.x0 = draw_token_source(source_, data_.vocabulary, batch, data_.length, gen);
  return pairs;
}

}  // namespace flowmatch
