#pragma once
#include <ATen/core/Generator.h>
#include <ATen/core/Tensor.h>

#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "flowmatch/model/velocity_model.h"

namespace flowmatch {

// The mixture path of discrete flow matching (Gat et al. 2024), position by position:
//   p_t(x | x0, x1) = kappa_t delta(x1) + (1 - kappa_t) delta(x0),
// with kappa_t running from 0 at t = 0 to 1 at t = 1 (the objective layer makes it from an affine
// scheduler's alpha_t: condot kappa = t, poly t^n, cosine sin(pi t / 2)). Its source x0 is
//   "mask":    every position the mask token V, which the data never holds;
//   "uniform": every position a token drawn uniformly from 0 .. V - 1.
// Its Markov chain jumps from x_t to a token y != x_t at the rate
//   u_t(y | x_t) = kappa'_t / (1 - kappa_t) p_1|t(y | x_t),
// with the model's posterior p_1|t of the data token (velocity_model.h's token models).
// kappa_t and kappa'_t at times t (any shape).
using KappaSchedule = std::function<std::pair<at::Tensor, at::Tensor>(const at::Tensor& t)>;

class MixturePath {
 public:
  // Throws Error for an unknown source, or a schedule with kappa_0 != 0 or kappa_1 != 1 (`name` names it).
  MixturePath(KappaSchedule schedule, const std::string& name, std::string source, int64_t vocabulary);

  int64_t vocabulary() const { return vocabulary_; }
  int64_t mask_token() const { return vocabulary_; }
  bool masks() const { return source_ == "mask"; }
  const std::string& source() const { return source_; }

  // kappa_t and kappa'_t at times t (any shape).
  at::Tensor kappa(const at::Tensor& t) const;
  at::Tensor kappa_rate(const at::Tensor& t) const;
  // Source sequences x0 [n, length].
  at::Tensor draw_source(int64_t n, int64_t length, at::Generator& gen) const;
  // x_t at times t [B]: mix_tokens with kappa_t.
  at::Tensor mix(const at::Tensor& x0, const at::Tensor& x1, const at::Tensor& t, const at::Tensor& reveal) const;
  // log p_1|t(. | x_t) [B, L, V] from the model's logits at temperature tau (logits / tau). From the
  // mask source, a position already showing a data token keeps it: there the path's posterior is
  // delta(x_t) whatever the network says.
  at::Tensor posterior_log_probs(VelocityModel& model, const at::Tensor& x_t, const at::Tensor& t, double temperature = 1.0) const;

 private:
  KappaSchedule schedule_;
  std::string source_;
  int64_t vocabulary_;
};

// A draw of the mixture path, position by position: x1 where reveal < kappa, x0 elsewhere; x0, x1,
// reveal [B, L] (reveal ~ U[0, 1)), kappa [B] (kappa_t of each row).
at::Tensor mix_tokens(const at::Tensor& x0, const at::Tensor& x1, const at::Tensor& kappa, const at::Tensor& reveal);

// mask, uniform
std::vector<std::string> token_source_names();
// Throws Error naming the sources unless `source` is one.
void check_token_source(const std::string& source);
// Source sequences x0 [n, length] over a vocabulary of V tokens: all V (the mask), or uniform in 0 .. V - 1.
at::Tensor draw_token_source(const std::string& source, int64_t vocabulary, int64_t n, int64_t length, at::Generator& gen);

}  // namespace flowmatch
