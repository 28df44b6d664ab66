#pragma once
#include <ATen/core/Generator.h>

#include <vector>

#include "flowmatch/ode/path_coefficients.h"
#include "flowmatch/ode/runge_kutta.h"

namespace flowmatch {

// Stochastic sampling from a flow trained on the path x_t = alpha_t x1 + sigma_t x0 from
// x0 ~ N(0, I), independently of x1. For every G >= 0 the SDE
//   dx = [v(x, t) + (g^2 / 2) grad log p_t(x)] dt + g dW,   g(t)^2 = 2 G sigma_t,
// has the ODE's marginals p_t (Song et al. 2021; SiT's diffusion coefficient w_t = sigma_t, Ma et al.
// 2024). On the path the score follows from the velocity: with the predicted noise
//   eps(x, t) = E[x0 | x_t = x] = (alpha v - d_alpha x) / (alpha d_sigma - d_alpha sigma)   (CondOT: x - t v),
// grad log p_t(x) = -eps / sigma_t, so the drift is v - G eps: bounded up to t = 1, where g vanishes.
//
// The sampler splits each step t -> t' in two. It first moves the state back along the path to
// t^ < t,
//   x^ = (alpha^ / alpha) x + c z,   c^2 = sigma^2(t^) - (alpha^ sigma / alpha)^2,   z ~ N(0, I),
// which maps the path's marginal at t exactly onto its marginal at t^ (given x1 both are Gaussian with
// those means and variances), with t^ chosen so that c^2 = g(t)^2 (t' - t), the variance the SDE
// adds over the step (t^ = 0, fresh noise, when that is 1 or more); then the solver's step goes
// from t^ to t'. To first order in the step this is the SDE's Euler-Maruyama step (the backward move
// contributes -G eps dt once the ODE's v (t - t^) is added back), the drift keeps the solver's
// order, and no noise is added after the last step. Karras et al.'s (2022, Alg. 2) stochastic
// sampler makes the same move with its own "churn" schedule.
StepStart renoising_step_start(const PathAt& path, double noise_scale, at::Generator& gen);

// The earlier time t^ of that move: where sigma^2(t^) - (alpha^ sigma(t) / alpha(t))^2 = variance (0
// when variance reaches sigma^2(0)), found by bisection. For tests and the docs.
double renoised_time(const PathAt& path, double t, double variance);

// How many steps of a grid `times` (from t = 0 up) move all the way back to t = 0, fresh noise,
// because the variance the step adds, g(t)^2 h, reaches sigma_0^2: a noise scale too large for so
// few steps, where the sample is made by the last steps alone.
int64_t restarting_steps(const PathAt& path, double noise_scale, const std::vector<double>& times);

}  // namespace flowmatch
