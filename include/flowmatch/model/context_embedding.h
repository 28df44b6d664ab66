#pragma once
#include <torch/nn/module.h>
#include <torch/nn/modules/linear.h>

namespace flowmatch {

// A context vector c [B, C] as a network's conditioning signal:
//   e = W2 silu(W1 [m c, m]),  m = 1 for a row given its context, 0 for a row whose context is
// dropped (classifier-free guidance trains the unconditional field on those: e is then W2 silu(b1),
// one learned "no context" vector).
class ContextEmbedding : public torch::nn::Module {
 public:
  ContextEmbedding(int64_t context_dim, int64_t width);
  // context [B, C]; dropped [B] bool, or undefined when no row is dropped; returns e [B, width].
  // An undefined context gives every row of a batch of `rows` the "no context" embedding.
  at::Tensor forward(const at::Tensor& context, const at::Tensor& dropped, int64_t rows, const at::TensorOptions& options);
  // Its input [m c, m] [B, C + 1], checked as forward checks it.
  at::Tensor input(const at::Tensor& context, const at::Tensor& dropped, int64_t rows, const at::TensorOptions& options) const;

 private:
  int64_t context_dim_;
  torch::nn::Linear first_{nullptr}, second_{nullptr};
};

}  // namespace flowmatch
