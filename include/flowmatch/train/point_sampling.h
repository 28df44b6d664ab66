#pragma once
#include <ATen/core/Generator.h>
#include <ATen/core/Tensor.h>

#include <functional>
#include <optional>

#include "flowmatch/model/velocity_model.h"
#include "flowmatch/ode/likelihood.h"
#include "flowmatch/ode/solver.h"
#include "flowmatch/train/model_usage.h"

namespace flowmatch {

// What to draw from a points model: n samples (given each context row, for a context model),
// integrated `batch` rows at a time.
struct PointSampling {
  at::Tensor contexts;  // [K, C] in the data's units, for a context model: n samples given each row, grouped by row
  int64_t n = 0;        // samples per context row (in all, for a model without a context)
  at::Tensor noise;     // [rows(), D] start points to integrate instead of fresh draws; undefined: fresh
  // Editing: [rows(), D] points in the data's units to start from part-way along the path, at
  // t0 = 1 - strength (start_on_path in sampling.h), with the noise as above; undefined: from noise.
  at::Tensor from;
  double strength = 1.0;
  double cfg = 1;       // classifier-free guidance weight w: v = v(x, t) + w (v(x, t | c) - v(x, t))
  int64_t batch = 10000;
  std::optional<LikelihoodOptions> density;  // also each sample's log-density, from the same solve
  bool show_progress = true;  // a progress line on stderr (not for evaluations inside training)

  int64_t rows() const { return contexts.defined() ? contexts.size(0) * n : n; }
};

// One batch of samples, rows first .. first + path.x.size(0) - 1 of the whole set.
struct SampleBatch {
  int64_t first = 0;
  Solution path;           // the samples (path.x) and any kept states, in the data's units
  at::Tensor log_density;  // [rows] float64, log p(x) (or log p(x | c)) in the data's units; undefined unless asked
};

// Draws request.rows() samples in batches, handing each to `each_batch` as it is done, so memory
// stays bounded by the batch however many are drawn; shows progress on stderr. Fresh start points
// are drawn batch by batch (one batch draws what a single call would). Throws Error, before handing
// the batch on, for non-finite samples or log-densities; and for contexts that do not fit the model.
void sample_points(VelocityModel& model, const ModelUsage& usage, const PointSampling& request,
                   const SolverOptions& solver, at::Generator& gen, const std::function<void(const SampleBatch&)>& each_batch);

}  // namespace flowmatch
