#include "flowmatch/data/toy_distributions.h"

#include <torch/torch.h>

#include <cmath>

#include "flowmatch/core/error.h"
#include "flowmatch/core/registry.h"

namespace flowmatch {

namespace {
using torch::indexing::Slice;

at::Tensor uniform(int64_t n, at::Generator& gen) { return torch::rand({n}, gen); }
at::Tensor normal(std::vector<int64_t> shape, at::Generator& gen) { return torch::randn(shape, gen); }

// Cell (i, j) of the 4x4 board, i from x and j from y, is on when i + j is odd. Pick one of the 8
// on-cells uniformly, then a uniform point inside it.
at::Tensor checkerboard(int64_t n, at::Generator& gen) {
  at::Tensor cell = torch::randint(0, 8, {n}, gen, torch::kLong);
  at::Tensor j = cell.div(2, "floor");                    // row 0..3
  at::Tensor i = 2 * cell.remainder(2) + (1 - j.remainder(2));  // column with i + j odd
  at::Tensor corner = torch::stack({i, j}, 1).to(torch::kFloat) * 2 - 4;
  return corner + 2 * torch::rand({n, 2}, gen);
}

at::Tensor eight_gaussians(int64_t n, at::Generator& gen) {
  at::Tensor angle = torch::randint(0, 8, {n}, gen, torch::kLong).to(torch::kFloat) * (M_PI / 4);
  return 4 * torch::stack({angle.cos(), angle.sin()}, 1) + 0.5 * normal({n, 2}, gen);
}

// Upper moon (cos a, sin a) and lower moon (1 - cos a, 0.5 - sin a), a ~ U[0, pi], then centred
// and scaled by 2.5 to fill about [-4, 4].
at::Tensor moons(int64_t n, at::Generator& gen) {
  at::Tensor a = uniform(n, gen) * M_PI;
  at::Tensor lower = torch::rand({n}, gen) < 0.5;
  at::Tensor x = torch::where(lower, 1 - a.cos(), a.cos());
  at::Tensor y = torch::where(lower, 0.5 - a.sin(), a.sin());
  at::Tensor p = torch::stack({x - 0.5, y - 0.25}, 1) * 2.5;
  return p + 0.1 * normal({n, 2}, gen);
}

at::Tensor circles(int64_t n, at::Generator& gen) {
  at::Tensor a = uniform(n, gen) * (2 * M_PI);
  at::Tensor radius = torch::where(torch::rand({n}, gen) < 0.5, torch::full({n}, 4.0), torch::full({n}, 2.0));
  return torch::stack({a.cos(), a.sin()}, 1) * radius.unsqueeze(1) + 0.1 * normal({n, 2}, gen);
}

// Two arms r = s, angle = s + k*pi (k = 0, 1), s ~ sqrt(U) * 3*pi for even density along the arm.
at::Tensor spirals(int64_t n, at::Generator& gen) {
  at::Tensor s = uniform(n, gen).sqrt() * (3 * M_PI);
  at::Tensor arm = torch::randint(0, 2, {n}, gen, torch::kLong).to(torch::kFloat);
  at::Tensor angle = s + arm * M_PI;
  at::Tensor p = torch::stack({s * angle.cos(), s * angle.sin()}, 1) * (4.0 / (3 * M_PI));
  return p + 0.1 * normal({n, 2}, gen);
}

// (s cos s, s sin s), s = 1.5*pi*(1 + 2u), scaled to about [-4, 4].
at::Tensor swissroll(int64_t n, at::Generator& gen) {
  at::Tensor s = 1.5 * M_PI * (1 + 2 * uniform(n, gen));
  at::Tensor p = torch::stack({s * s.cos(), s * s.sin()}, 1) * (4.0 / (4.5 * M_PI));
  return p + 0.1 * normal({n, 2}, gen);
}

// x = mu + L z with L L^T = Sigma.
at::Tensor gaussian(int64_t n, at::Generator& gen) {
  at::Tensor L = torch::linalg::cholesky(toy_gaussian_covariance());
  return toy_gaussian_mean() + torch::matmul(normal({n, 2}, gen), L.t());
}

using Sampler = at::Tensor (*)(int64_t, at::Generator&);

// One entry per built-in.
const Registry<Sampler>& distributions() {
  static const Registry<Sampler> registry("distribution", {{"checkerboard", checkerboard},
                                                          {"8gaussians", eight_gaussians},
                                                          {"moons", moons},
                                                          {"circles", circles},
                                                          {"spirals", spirals},
                                                          {"swissroll", swissroll},
                                                          {"gaussian", gaussian}});
  return registry;
}
}  // namespace

std::vector<std::string> toy_distribution_names() { return distributions().names(); }

bool is_toy_distribution(const std::string& name) { return distributions().contains(name); }

at::Tensor sample_toy(const std::string& name, int64_t n, at::Generator& gen) { return distributions()[name](n, gen); }

at::Tensor checkerboard_cells(const at::Tensor& points) {
  return ((points.to(torch::kDouble) + 4) / 2).floor().to(torch::kLong);  // cells of size 2 from -4
}

at::Tensor on_checkerboard(const at::Tensor& points) {
  at::Tensor cell = checkerboard_cells(points);
  at::Tensor i = cell.select(1, 0), j = cell.select(1, 1);
  return (i >= 0) & (i < 4) & (j >= 0) & (j < 4) & ((i + j).remainder(2) == 1);
}

std::optional<at::Tensor> toy_log_density(const std::string& name, const at::Tensor& x_in) {
  if (x_in.dim() != 2 || x_in.size(1) != 2)
    throw Error("the built-in densities are 2-D, got points of shape " + c10::str(x_in.sizes()));
  at::Tensor x = x_in.to(torch::kDouble);
  if (name == "checkerboard") {
    // Uniform over 8 cells of area 4.
    return torch::where(on_checkerboard(x), torch::full({x.size(0)}, -std::log(32.0), x.options()),
                        torch::full({x.size(0)}, -INFINITY, x.options()));
  }
  if (name == "8gaussians") {
    // (1/8) sum_k N(x; 4 (cos k pi/4, sin k pi/4), 0.25 I)
    at::Tensor angle = torch::arange(8, x.options()) * (M_PI / 4);
    at::Tensor centres = 4 * torch::stack({angle.cos(), angle.sin()}, 1);
    at::Tensor sq = (x.unsqueeze(1) - centres.unsqueeze(0)).pow(2).sum(2);  // [N, 8]
    return torch::logsumexp(-sq / (2 * 0.25) - std::log(2 * M_PI * 0.25), 1) - std::log(8.0);
  }
  if (name == "gaussian") {
    // -(x - mu)ᵀ Sigma⁻¹ (x - mu) / 2 - log det(2 pi Sigma) / 2
    at::Tensor sigma = toy_gaussian_covariance().to(torch::kDouble), diff = x - toy_gaussian_mean().to(torch::kDouble);
    at::Tensor mahalanobis = (torch::matmul(diff, torch::inverse(sigma)) * diff).sum(1);
    return -0.5 * mahalanobis - 0.5 * torch::logdet(2 * M_PI * sigma);
  }
  distributions()[name];  // throws for an unknown name
  return std::nullopt;
}

at::Tensor toy_gaussian_mean() { return torch::tensor({1.0f, -1.0f}); }
at::Tensor toy_gaussian_covariance() { return torch::tensor({{1.0f, 0.6f}, {0.6f, 0.5f}}); }

}  // namespace flowmatch
