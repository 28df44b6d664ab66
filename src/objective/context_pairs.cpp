#include "flowmatch/objective/context_pairs.h"

#include <torch/torch.h>

#include <cmath>

#include "flowmatch/core/error.h"

namespace flowmatch {

ContextPairs::ContextPairs(at::Tensor x, at::Tensor context, double validation, std::string description,
                           at::Generator& gen)
    : description_(std::move(description)) {
  if (x.dim() != 2 || context.dim() != 2 || x.size(0) != context.size(0))
    throw Error("points and contexts must be [N, D] and [N, C] with the same N, got " + c10::str(x.sizes()) + " and " +
                c10::str(context.sizes()));
  if (!(validation >= 0 && validation < 0.5)) throw Error("--validation must be in [0, 0.5), got " + std::to_string(validation));
  const int64_t n = x.size(0);
  int64_t held = validation > 0 ? std::max<int64_t>(1, int64_t(std::llround(validation * double(n)))) : 0;
  if (held >= n) throw Error("--validation " + std::to_string(validation) + " leaves none of the " + std::to_string(n) + " rows to train on");
  at::Tensor order = torch::randperm(n, gen, torch::kLong);
  at::Tensor train = order.slice(0, held), valid = order.slice(0, 0, held);
  x_ = x.index_select(0, train).to(torch::kFloat);
  context_ = context.index_select(0, train).to(torch::kFloat);
  if (held > 0) {
    held_out_x_ = x.index_select(0, valid).to(torch::kFloat);
    held_out_context_ = context.index_select(0, valid).to(torch::kFloat);
  }
}

std::string ContextPairs::describe() const {
  std::string valid = held_out_x_.defined() ? ", " + std::to_string(held_out_x_.size(0)) + " held out" : "";
  return description_ + " (" + std::to_string(x_.size(0)) + " rows of " + std::to_string(x_.size(1)) + "-D points given " +
         std::to_string(context_.size(1)) + "-D contexts" + valid + ") from N(0, I)";
}

PairBatch ContextPairs::draw(int64_t batch, at::Generator& gen) const {
  at::Tensor rows = torch::randint(0, x_.size(0), {batch}, gen, torch::kLong);
  PairBatch pairs;
  pairs.x1 = x_.index_select(0, rows);
  pairs.x0 = torch::randn(pairs.x1.sizes(), gen);
  pairs.context = context_.index_select(0, rows);
  return pairs;
}

std::optional<PairBatch> ContextPairs::held_out() const {
  if (!held_out_x_.defined()) return std::nullopt;
  PairBatch rows;
  rows.x1 = held_out_x_;
  rows.context = held_out_context_;
  return rows;
}

}  // namespace flowmatch
