#pragma once
#include <ATen/core/Generator.h>
#include <ATen/core/Tensor.h>

#include <string>

#include "flowmatch/figures/figures.h"
#include "flowmatch/model/velocity_model.h"
#include "flowmatch/ode/likelihood.h"

namespace flowmatch {

// Log-likelihoods of many points (likelihood.h), as `flowmatch likelihood` computes them.
struct BatchedLogDensity {
  at::Tensor log_density;  // [N], float64; fewer rows when stopped
  int64_t nfe = 0;         // summed over the batches
  double seconds = 0;
  int stopped_by = 0;      // the signal that stopped it (0: every row is done)
};

// log p of every row of `points`, `batch` rows at a time, without autograd, with a progress line
// on stderr named `label` that moves with each solver step; given `context` [N, C] (as the model
// takes it), log p(x_i | c_i). SIGINT or SIGTERM stops it at once, with the batches done before.
BatchedLogDensity log_likelihood_in_batches(VelocityModel& model, const at::Tensor& points,
                                            const LikelihoodOptions& options, int64_t batch, at::Generator& gen,
                                            const std::string& label, const at::Tensor& context = {});

// A 2-D model's density at the centres of a grid x grid lattice over `box`, row 0 at y_min:
// [grid, grid]. Throws Stopped when stopped by a signal.
at::Tensor density_on_grid(VelocityModel& model, const PlotBox& box, int64_t grid, int64_t batch,
                           const LikelihoodOptions& options, at::Generator& gen);

}  // namespace flowmatch
