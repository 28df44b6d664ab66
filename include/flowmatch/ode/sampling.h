#pragma once
#include <ATen/core/Generator.h>
#include <ATen/core/Tensor.h>

#include <string>
#include <vector>

#include "flowmatch/model/velocity_model.h"
#include "flowmatch/ode/path_coefficients.h"
#include "flowmatch/ode/solver.h"

namespace flowmatch {

// Which class or context to draw for, and how strongly: classifier-free guidance (Ho & Salimans)
// with weight w,
//   v = v(x, t) + w (v(x, t | y) - v(x, t)),
// so w = 1 is the plain conditional field and w = 0 the unconditional one.
struct Guidance {
  at::Tensor labels;   // [N] int64 classes; undefined: none
  double weight = 1.0;
  at::Tensor context;  // [N, C] one context row per sample (context models); undefined: none

  Guidance rows(int64_t first, int64_t end) const;  // the guidance of samples first .. end - 1
};

// The model as the solver's right-hand side: v(x, t) with t broadcast to the batch, guided towards
// guidance's labels or context when they are given (both fields from one batched evaluation when w != 1).
VelocityFn velocity_of(VelocityModel& model, const Guidance& guidance = {});

// Throws Error unless the guidance fits the model and a batch of `rows` samples (see generate).
void validate_guidance(const VelocityModel& model, const Guidance& guidance, int64_t rows);

// Checks that x is [N, ...sample_shape] for the model (naming it `what` in the error) and returns it
// in the model's dtype (float32, or float64 for a model converted with ->to(torch::kDouble)).
at::Tensor as_model_input(VelocityModel& model, const at::Tensor& x, const std::string& what);

// Roughly the memory sampling `rows` samples at once takes: the state, the solver's stages (dopri5
// keeps 7) and the output, and one forward pass's activations per row.
double sampling_memory_bytes(const VelocityModel& model, int64_t rows);

// The samplers by name: the ODE solvers (solver.h), then the jump of interval models (jump_sampler.h).
std::vector<std::string> sampler_names();
// Throws Error for an unknown sampler or bad settings (the ODE solver's checks, or the jump's).
void validate_sampler(const SolverOptions& options);

// Editing (SDEdit, Meng et al. 2022) starts part-way along the path from the noise z to the data x:
//   x_t0 = alpha_t0 x + sigma_t0 z,   t0 = 1 - strength,
// so strength 0 gives x itself and strength 1 the noise z (plain sampling from it).
at::Tensor start_on_path(const PathAt& path, const at::Tensor& x, const at::Tensor& noise, double t0);

// What stochastic sampling (SolverOptions::noise_scale > 0, stochastic_sampler.h) needs beyond the
// field: the path the model was trained on, to move back along, and a generator for its noise.
struct PathNoise {
  PathAt path;
  at::Generator* gen = nullptr;
};

// Draws samples under inference mode (no autograd bookkeeping) from `start` [N, ...] at time t0:
// noise at t0 = 0, or a point part-way along the path when editing. An ODE solver integrates
// v(x, t) to t = 1 (for an interval model, v(x, t) = u(x, t, t)), stochastically with a noise scale;
// or the jump sampler jumps along the model's average velocities (from t0 = 0 only).
// Throws Error for labels outside 0 .. classes() - 1, a context of the wrong shape or not finite,
// either given to a model that does not take it, or a noise scale without `noise`.
Solution generate(VelocityModel& model, const at::Tensor& start, const SolverOptions& options, const Guidance& guidance = {},
                  const PathNoise& noise = {}, double t0 = 0.0);

// Inversion: integrates the ODE back from data x [N, ...] at t = 1 to the noise z at t = 0 (the
// reverse solve that likelihoods integrate too), through the same time grid that sampling steps
// through forward, so that generate(model, z, options, guidance) returns x up to the solver's error.
// Throws Error for a noise scale (the SDE has no inverse), the jump sampler, or guidance that does
// not fit, as generate.
Solution invert(VelocityModel& model, const at::Tensor& x, const SolverOptions& options, const Guidance& guidance = {});
// Throws Error for the options that invert refuses.
void validate_inversion(const SolverOptions& options);

}  // namespace flowmatch
