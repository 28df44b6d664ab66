#pragma once
#include <ATen/core/Generator.h>
#include <ATen/core/Tensor.h>

#include "flowmatch/ode/path_coefficients.h"
#include "flowmatch/ode/sampling.h"
#include "flowmatch/ode/solver.h"

namespace flowmatch {

// Imputation: fills the missing entries of each sample (a row of a points file, the masked pixels
// of an image: inpainting) so that the completed sample is a draw from the model's conditional
// p(missing | known), for a flow from N(0, I) trained on independent pairs.
//
// The known entries follow their own path, x_known(t) = alpha_t x_known + sigma_t z with the row's
// start noise z ("replacement", as RePaint and Song et al. 2021 do), and the missing ones start as
// noise. At each grid time t > 0, before the solver's step, `corrector_steps` Langevin steps move
// only the missing entries,
//   x_m <- x_m + e grad_m log p_t(x) + sqrt(2 e) xi,   e = corrector_size sigma_t^2,   xi ~ N(0, I),
// with the score from the velocity (path_coefficients.h). Those steps leave p_t(x_m | x_known(t))
// invariant (as e -> 0), so however far the replacement's step has pulled the missing entries off
// the conditional, the corrector draws them back toward it: with many corrector steps and grid
// times up to t -> 1, where x_known(t) -> x_known, the completed rows are draws from
// p(missing | known). Replacement alone (no corrector steps) is not: its missing entries never
// see the known entries' future. The last step lands on t = 1, and the known entries are then
// returned exactly as given.
//
// How many corrector steps it takes was measured on the gaussian's closed form
// (tests/ode/imputation_test.cpp): with e = sigma_t^2 the chain relaxes over V / e steps, V the
// conditional variance, so near t = 1 it lags; midpoint in 50 steps with 40 corrections each gets
// the conditional variance within 2 %; 25 steps with 4 corrections leave it 17 % too wide, with 20
// still 6 % (docs/sampling.md).
//
// With solver.noise_scale G > 0 each step first moves the whole sample back along the path, as
// stochastic sampling does (stochastic_sampler.h), and the known entries are replaced at that earlier
// time: replacement along the SDE. It redraws the missing entries next to the known ones at every
// step; on images it fills closest to the truth per NFE, but it is not exact (on the gaussian, G = 30
// without corrections: mean 0.31 sd off, variance 19 % low; docs/sampling.md).
struct ImputationOptions {
  SolverOptions solver = {"midpoint", 50};  // a fixed-grid solver, its grid and noise scale, for the steps between corrections
  int64_t corrector_steps = 40;            // Langevin steps at each grid time after the first
  double corrector_size = 1.0;             // e / sigma_t^2

  void validate() const;  // throws Error: dopri5, a noise scale, negative steps or a size outside (0, 1]
};

// `data` [N, ...] in the model's units (the sample shape), its values where `missing` (bool, same
// shape) is false; what it holds where missing (NaN, a damaged region) is never read. The result's
// nfe counts the solver's evaluations and the corrector's.
Solution impute(VelocityModel& model, const at::Tensor& data, const at::Tensor& missing, const PathAt& path,
                const ImputationOptions& options, at::Generator& gen, const Guidance& guidance = {});

}  // namespace flowmatch
