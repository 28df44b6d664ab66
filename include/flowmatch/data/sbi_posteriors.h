#pragma once
#include <ATen/core/Generator.h>
#include <ATen/core/Tensor.h>

#include <functional>

namespace flowmatch {

// The exact posterior samplers of sbi_tasks.h's tasks, and the pieces their simulators share.
// Everything is float64.

// n draws of `propose(m)` ([m, D] each call) that `inside` ([m] bool) accepts: rejection to a
// prior's support. Throws Error when fewer than 1 in 10^6 proposals is accepted.
at::Tensor draw_inside(const std::function<at::Tensor(int64_t)>& propose,
                       const std::function<at::Tensor(const at::Tensor&)>& inside, int64_t n);

// two-moons' noise p = (r cos a + 0.25, r sin a), a ~ U(-pi/2, pi/2), r ~ N(0.1, 0.01^2): [n, 2].
at::Tensor two_moons_crescent(int64_t n, at::Generator& gen);
// By inverting the simulator: with p drawn as above, q = (p0 - x0, x1 - p1) solves
// |theta1 + theta2| / sqrt 2 = q0, (theta2 - theta1) / sqrt 2 = q1; the sign of theta1 + theta2 is
// +/- with probability 1/2, and draws with q0 < 0 or outside U[-1, 1]^2 are rejected. The map
// theta -> p is piecewise linear with |det| = 1, so the draws follow p(theta | x_o) exactly.
at::Tensor two_moons_posterior(const at::Tensor& x_o, int64_t n, at::Generator& gen);

// slcp's covariance for each theta [N, 5]: [N, 2, 2].
at::Tensor slcp_covariance(const at::Tensor& theta);
// By rejection, exact up to a jitter term of 1e-6 (below). With x_j (j = 1..4) the observed 2-D
// draws, xbar their mean and W = sum_j (x_j - xbar)(x_j - xbar)^T, the likelihood factorises as
//   prod_j N(x_j; m, S) = c |S|^-3/2 exp(-tr(S^-1 W) / 2) * N(m; xbar, S / 4),
// so under the flat prior p(theta | x_o) is proportional to that on [-3, 3]^5. A proposal draws
// S ~ inverse-Wishart(W, 3) (density proportional to |S|^-3 exp(-tr(S^-1 W) / 2)), maps it back to
// theta3 = +/- v1^1/4, theta4 = +/- v2^1/4, theta5 = atanh(rho) (v = the diagonal less 1e-6,
// rho = S12 / sqrt(v1 v2), random signs), and keeps it with probability ratio / 9, where ratio =
// |S|^3/2 v1^-5/4 v2^-5/4 / (1 - rho^2) is target over proposal: at most 9 on the prior's support
// when the jitter is negligible, which it is unless a variance is within 1e-5 of zero. Then
// m ~ N(xbar, S / 4), and the pair is kept only if it lies in [-3, 3]^5.
at::Tensor slcp_posterior(const at::Tensor& x_o, int64_t n, at::Generator& gen);

}  // namespace flowmatch
