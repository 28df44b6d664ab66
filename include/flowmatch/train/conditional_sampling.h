#pragma once
#include <ATen/core/Generator.h>
#include <ATen/core/Tensor.h>

#include "flowmatch/model/velocity_model.h"
#include "flowmatch/ode/solver.h"
#include "flowmatch/train/model_usage.h"

namespace flowmatch {

struct ConditionalSamples {
  at::Tensor x;     // [K * n, D] in the data's units: rows k n .. k n + n - 1 were drawn given context k
  int64_t nfe = 0;  // network evaluations per sample (a guided one counts its two fields once)
};

// n samples from p(x | c_k) for each row c_k of `contexts` [K, C] (in the data's units), `batch`
// rows integrated at a time, so memory stays bounded by the batch and the output; with cfg != 1,
// classifier-free guidance v = v(x, t) + cfg (v(x, t | c) - v(x, t)). Shows progress on stderr.
// Throws Error for a model without a context, contexts of the wrong width or not finite, and
// non-finite samples.
ConditionalSamples sample_given_contexts(VelocityModel& model, const ModelUsage& usage, const at::Tensor& contexts,
                                         int64_t n, const SolverOptions& solver, double cfg, int64_t batch,
                                         at::Generator& gen);

}  // namespace flowmatch
