#pragma once
#include <torch/nn/module.h>

#include <nlohmann/json.hpp>
#include <vector>

namespace flowmatch {

// A velocity network v(x, t): x [B, ...sample_shape()], t [B] in [0, 1] -> the shape of x. Points
// are [B, D]; images [B, C, H, W]. Its config() is the JSON that make_model() takes to rebuild it,
// stored in every weights file.
//
// Some models (built with an interval input, for MeanFlow) also give the average velocity over a
// time interval: u(x, s, t) = 1/(t - s) * integral_s^t v(x_tau, tau) dtau along the flow through x at
// time s, so that x_t = x + (t - s) u(x, s, t) in one evaluation; then v(x, t) = u(x, t, t).
//
// Class-conditional models (classes() = K > 0) give v(x, t | y) for labels y in 0 .. K - 1, and
// the unconditional v(x, t) for the label K ("no class", what label dropout trains); forward(x, t)
// is the unconditional one.
//
// Token models (vocabulary() = V > 0, discrete flow matching) take sequences x [B, L] of int64 tokens
// in 0 .. V, where V is the mask token, and return logits [B, L, V] of the data token at each
// position, p_1|t(x1 | x_t); the jump rates of the sampler's Markov chain follow from it
// (objective/mixture_path.h), as the velocity follows from a continuous model's output.
//
// Context models (context_dim() = C > 0) give v(x, t | c) for a context vector c [B, C] (a
// simulator's observation, features, a coarse field), and the unconditional v(x, t) for rows whose
// context is dropped; forward(x, t) is the unconditional one.
struct Condition;
class VelocityModel : public torch::nn::Module {
 public:
  virtual at::Tensor forward(const at::Tensor& x, const at::Tensor& t) = 0;
  virtual bool takes_interval() const { return false; }
  // u(x, s, t | condition) with s, t [B] (no condition: the unconditional field); throws Error unless
  // takes_interval(), or for a condition the model does not take.
  virtual at::Tensor forward_average(const at::Tensor& x, const at::Tensor& s, const at::Tensor& t,
                                     const Condition& given);
  at::Tensor forward_average(const at::Tensor& x, const at::Tensor& s, const at::Tensor& t);
  virtual int64_t classes() const { return 0; }
  // v(x, t | labels), labels [B] int64 in 0 .. classes(); throws Error unless classes() > 0.
  virtual at::Tensor forward_class(const at::Tensor& x, const at::Tensor& t, const at::Tensor& labels);
  virtual int64_t vocabulary() const { return 0; }
  virtual int64_t context_dim() const { return 0; }
  // v(x, t | c), context [B, C]; rows where `dropped` [B] bool is true (undefined: none) get the
  // unconditional field. Throws Error unless context_dim() > 0.
  virtual at::Tensor forward_context(const at::Tensor& x, const at::Tensor& t, const at::Tensor& context,
                                     const at::Tensor& dropped = {});
  // v(x, t | condition): forward_class, forward_context or forward, by what the condition holds.
  at::Tensor forward_given(const at::Tensor& x, const at::Tensor& t, const Condition& condition);
  virtual nlohmann::json config() const = 0;
  // The shape of one sample: {D} for points, {C, H, W} for images.
  virtual std::vector<int64_t> sample_shape() const = 0;
  // The numbers in one sample: D, or C * H * W.
  int64_t data_dim() const;
  // Roughly how many floats one row's forward pass keeps alive (for backward), for the memory
  // estimates that refuse work too large for the machine (core/memory_budget.h).
  virtual double floats_per_row() const { return 64.0 * double(data_dim()); }
};

// What a conditional field is given besides (x, t), row by row; empty for an unconditional one.
struct Condition {
  at::Tensor labels;   // [B] int64 classes (classes() means "no class")
  at::Tensor context;  // [B, C] context vectors
  at::Tensor dropped;  // [B] bool, with a context: rows given the unconditional field; undefined = none
};

// "[1, 28, 28]" or "2-D": a sample shape as messages name it.
std::string describe_shape(const std::vector<int64_t>& shape);

}  // namespace flowmatch
