#pragma once
#include <ATen/core/Generator.h>
#include <ATen/core/Tensor.h>

#include <string>

#include "flowmatch/model/velocity_model.h"
#include "flowmatch/ode/solver.h"
#include "flowmatch/train/model_usage.h"

namespace flowmatch {

// A trained flow's own coupling: starting points z0 and where the flow takes them, z1 = phi(z0), or
// for a context model z1 = phi(z0 | c) with the pair's context c. Rectified flow (Liu et al. 2022)
// retrains on these pairs (reflow) or distils them into a few-step model. Stored as safetensors:
// tensors "z0", "z1" [N, D] and, for a context model, "context" [N, C], float32 in the model's
// units (z-scored as it was trained), and in __metadata__ the sampler and its NFE per point.
struct FlowPairs {
  at::Tensor z0, z1;
  at::Tensor context;   // undefined for a flow without a context
  std::string sampler;  // e.g. "rk4, 32 steps"
  int64_t nfe = 0;      // network evaluations per point
};

// Draws n starting points as the model's flow starts (`usage`) and integrates them `batch` at a
// time with `solver`, showing progress on stderr. A context model needs `contexts` [M, C] in the
// data's units: pair i is drawn given row i mod M, so n = M uses each context once. Throws Error for
// contexts the model does not take (or missing ones), and if the flow produces non-finite values.
// With a `progress_file`, the pairs made so far are kept there after every batch, and a file left by
// a stopped run is continued (its z0 must be the ones drawn now: the same seed and options), so the
// pairs come out as if never stopped; SIGINT or SIGTERM then stops between batches with Stopped.
FlowPairs make_flow_pairs(VelocityModel& model, const ModelUsage& usage, int64_t n, const SolverOptions& solver,
                          int64_t batch, at::Generator& gen, const at::Tensor& contexts = {},
                          const std::string& progress_file = "");

void save_flow_pairs(const std::string& path, const FlowPairs& pairs);  // atomically
// Throws Error unless the file holds z0 and z1 of the same [N, D] shape (and a context [N, C] if
// any), finite.
FlowPairs load_flow_pairs(const std::string& path);

}  // namespace flowmatch
