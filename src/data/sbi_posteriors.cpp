#include "flowmatch/data/sbi_posteriors.h"

#include <torch/torch.h>

#include <cmath>
#include <vector>

#include "flowmatch/core/error.h"

namespace flowmatch {

namespace {
const auto kFloat64Options = torch::TensorOptions().dtype(torch::kDouble);
constexpr int64_t kProposals = 1 << 18;  // per round of rejection
}  // namespace

at::Tensor draw_inside(const std::function<at::Tensor(int64_t)>& propose,
                       const std::function<at::Tensor(const at::Tensor&)>& inside, int64_t n) {
  std::vector<at::Tensor> kept;
  int64_t have = 0, tried = 0;
  while (have < n) {
    at::Tensor draws = propose(kProposals);
    at::Tensor accepted = draws.index({inside(draws)});
    tried += kProposals;
    have += accepted.size(0);
    kept.push_back(accepted);
    if (tried >= 4 * kProposals && double(have) < 1e-6 * double(tried))
      throw Error("rejection sampling accepts fewer than 1 in 10^6 proposals: the observation lies far outside the prior's reach");
  }
  return torch::cat(kept).slice(0, 0, n);
}

at::Tensor two_moons_crescent(int64_t n, at::Generator& gen) {
  at::Tensor a = (torch::rand({n}, gen, kFloat64Options) - 0.5) * M_PI;
  at::Tensor r = 0.1 + 0.01 * torch::randn({n}, gen, kFloat64Options);
  return torch::stack({r * a.cos() + 0.25, r * a.sin()}, 1);
}

at::Tensor two_moons_posterior(const at::Tensor& x_o, int64_t n, at::Generator& gen) {
  double x0 = x_o[0].item<double>(), x1 = x_o[1].item<double>();
  auto propose = [&](int64_t m) {
    at::Tensor p = two_moons_crescent(m, gen);
    at::Tensor q0 = p.select(1, 0) - x0, q1 = x1 - p.select(1, 1);
    at::Tensor sign = torch::where(torch::rand({m}, gen, kFloat64Options) < 0.5, -torch::ones({1}, kFloat64Options), torch::ones({1}, kFloat64Options));
    at::Tensor s = sign * q0;  // (theta1 + theta2) / sqrt 2
    at::Tensor theta = torch::stack({(s - q1) / std::sqrt(2.0), (s + q1) / std::sqrt(2.0)}, 1);
    // q0 < 0 has no preimage: mark it outside.
    return torch::where((q0 >= 0).unsqueeze(1), theta, torch::full({1}, 100.0, kFloat64Options));
  };
  return draw_inside(propose, [](const at::Tensor& theta) { return (theta.abs() <= 1).all(1); }, n);
}

at::Tensor slcp_covariance(const at::Tensor& theta) {
  at::Tensor s1 = theta.select(1, 2).pow(2), s2 = theta.select(1, 3).pow(2), rho = theta.select(1, 4).tanh();
  at::Tensor off = rho * s1 * s2;
  at::Tensor cov = torch::stack({torch::stack({s1.pow(2) + 1e-6, off}, 1), torch::stack({off, s2.pow(2) + 1e-6}, 1)}, 1);
  return cov;
}

at::Tensor slcp_posterior(const at::Tensor& x_o, int64_t n, at::Generator& gen) {
  at::Tensor x = x_o.reshape({4, 2});
  at::Tensor xbar = x.mean(0);
  at::Tensor centred = x - xbar;
  at::Tensor w = centred.t().matmul(centred);  // W
  if (torch::linalg_det(w).item<double>() <= 1e-300)
    throw Error("the slcp observation's 4 draws lie on a line: their scatter matrix is singular");
  at::Tensor l = torch::linalg_cholesky(torch::linalg_inv(w));  // L L^T = W^-1
  const double l11 = l[0][0].item<double>(), l21 = l[1][0].item<double>(), l22 = l[1][1].item<double>();
  constexpr double kJitter = 1e-6, kBound = 9.0;
  const double rho_max = std::tanh(3.0);
  // 2 x 2 matrices are carried as their entries, [m] each, with their algebra written out.
  auto propose = [&](int64_t m) {
    // S^-1 = P ~ Wishart(W^-1, 3) by Bartlett's construction: P = (L B)(L B)^T, B lower triangular
    // with B11^2 ~ chi2(3), B22^2 ~ chi2(2), B21 ~ N(0, 1).
    at::Tensor z = torch::randn({m, 6}, gen, kFloat64Options);
    at::Tensor b11 = z.slice(1, 0, 3).pow(2).sum(1).sqrt(), b22 = z.slice(1, 3, 5).pow(2).sum(1).sqrt(), b21 = z.select(1, 5);
    at::Tensor a11 = l11 * b11, a21 = l21 * b11 + l22 * b21, a22 = l22 * b22;
    at::Tensor p11 = a11 * a11, p12 = a11 * a21, p22 = a21 * a21 + a22 * a22;
    at::Tensor det_p = p11 * p22 - p12 * p12;
    at::Tensor s11 = p22 / det_p, s12 = -p12 / det_p, s22 = p11 / det_p;  // S = P^-1 ~ IW(W, 3), |S| = 1 / |P|
    at::Tensor v1 = s11 - kJitter, v2 = s22 - kJitter;
    at::Tensor rho = s12 / (v1.clamp_min(1e-300) * v2.clamp_min(1e-300)).sqrt();
    at::Tensor reachable = (v1 > 0) & (v2 > 0) & (v1 <= 81) & (v2 <= 81) & (rho.abs() < rho_max);
    // Target over proposal, up to a constant: |S|^(3/2) (from IW's |S|^-3 against L's |S|^-3/2)
    // times the prior's density of S, v1^-3/4 v2^-3/4 / ((1 - rho^2) sqrt(v1 v2)) (the Jacobian of
    // theta -> S). Without the jitter this is v1^1/4 v2^1/4 (1 - rho^2)^1/2 <= 81^1/2 = kBound.
    at::Tensor ratio = det_p.pow(-1.5) / ((v1 * v2).abs().pow(1.25) * (1 - rho.pow(2)));
    at::Tensor keep = reachable & (torch::rand({m}, gen, kFloat64Options) * kBound < ratio);
    at::Tensor signs = torch::where(torch::rand({m, 2}, gen, kFloat64Options) < 0.5, -1.0, 1.0);
    // m ~ N(xbar, S / 4) through the Cholesky factor of S / 4; the pair is kept only if m lies in
    // the prior's box as well.
    at::Tensor e = torch::randn({m, 2}, gen, kFloat64Options);
    at::Tensor c11 = (s11 / 4).sqrt(), c21 = (s12 / 4) / c11, c22 = (s22 / 4 - c21 * c21).clamp_min(0).sqrt();
    at::Tensor theta = torch::stack({xbar[0] + c11 * e.select(1, 0), xbar[1] + c21 * e.select(1, 0) + c22 * e.select(1, 1),
                                     signs.select(1, 0) * v1.abs().pow(0.25), signs.select(1, 1) * v2.abs().pow(0.25),
                                     rho.clamp(-rho_max, rho_max).atanh()}, 1);
    return torch::where(keep.unsqueeze(1), theta, torch::full({1}, 100.0, kFloat64Options));
  };
  return draw_inside(propose, [](const at::Tensor& t) { return (t.abs() <= 3).all(1); }, n);
}

}  // namespace flowmatch
