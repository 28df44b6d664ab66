#pragma once
#include <ATen/core/Generator.h>
#include <ATen/core/Tensor.h>

#include "flowmatch/model/velocity_model.h"
#include "flowmatch/ode/mixture_path.h"
#include "flowmatch/ode/solver.h"

namespace flowmatch {

// What the discrete Euler sampler draws: n sequences in `steps` steps (one network evaluation
// each) at a temperature (the logits are divided by it: below 1 sharper, above 1 flatter).
struct TokenSampling {
  int64_t n = 1000;
  int64_t steps = 100;
  double temperature = 1.0;
  // Sequences moved together. Larger batches are no faster, and 10 000 words (logits of 67 MB a
  // step) ran 4x slower than 5 batches of 2000: every temporary that size is fresh pages.
  int64_t batch = 2000;
  SolveProgress on_progress = nullptr;  // after each step of each batch: along all n, NFE of the batch
  // Throws Error for n, steps or batch < 1, or a temperature that is not positive and finite.
  void validate() const;
};

// The discrete Euler sampler of the mixture path's Markov chain (Gat et al. 2024), from source
// sequences at t = 0 to data at t = 1 on the uniform grid t_k = k h, h = 1 / steps. At each step
// every position draws a token y from the model's posterior p_1|t(. | x_t) (mixture_path.h) and
// jumps to it with the probability the path's rate kappa'_t / (1 - kappa_t) gives over the step,
// integrated exactly:
//   P(jump) = (kappa_{t+h} - kappa_t) / (1 - kappa_t)   (= h / (1 - t) for condot)
// so that at the last step every position jumps and x_1 holds only data tokens. From the mask
// source, sequences with no mask left are final and skip the network. Returns the sequences
// [n, L] (int64) and the NFE: the steps, the most any sequence may take.
struct TokenSamples {
  at::Tensor tokens;
  int64_t nfe = 0;
};
TokenSamples sample_tokens(VelocityModel& model, const MixturePath& path, const TokenSampling& request, at::Generator& gen);

}  // namespace flowmatch
