#include "flowmatch/model/context_embedding.h"

#include <torch/torch.h>

#include "flowmatch/core/error.h"

namespace flowmatch {

ContextEmbedding::ContextEmbedding(int64_t context_dim, int64_t width)
    : context_dim_(context_dim),
      first_(register_module("first", torch::nn::Linear(context_dim + 1, width))),
      second_(register_module("second", torch::nn::Linear(width, width))) {}

at::Tensor ContextEmbedding::input(const at::Tensor& context, const at::Tensor& dropped, int64_t rows,
                                   const at::TensorOptions& options) const {
  if (!context.defined()) return torch::zeros({rows, context_dim_ + 1}, options);  // m = 0: no context
  if (context.dim() != 2 || context.size(0) != rows || context.size(1) != context_dim_)
    throw Error("the model takes a " + std::to_string(context_dim_) + "-D context per row, got shape " +
                c10::str(context.sizes()) + " for " + std::to_string(rows) + " rows");
  at::Tensor given = dropped.defined() ? (~dropped).to(options.dtype()).unsqueeze(1) : torch::ones({rows, 1}, options);  // m
  return torch::cat({context.to(options.dtype()) * given, given}, 1);
}

at::Tensor ContextEmbedding::forward(const at::Tensor& context, const at::Tensor& dropped, int64_t rows,
                                     const at::TensorOptions& options) {
  return second_(torch::silu(first_(input(context, dropped, rows, options))));  // W2 silu(W1 [m c, m])
}

}  // namespace flowmatch
