#pragma once
#include <ATen/core/Generator.h>
#include <ATen/core/Tensor.h>

#include <optional>
#include <string>
#include <vector>

namespace flowmatch {

// Built-in 2-D distributions, all spread over about [-4, 4]^2:
//   checkerboard  uniform on the 8 on-cells of a 4x4 board of 2x2 cells over [-4, 4]^2 (the seed's)
//   8gaussians    8 Gaussians (std 0.5) on the circle of radius 4
//   moons         two interleaved half circles
//   circles       two concentric circles of radius 4 and 2
//   spirals       two interleaved spiral arms
//   swissroll     the 2-D swiss roll
//   gaussian      N(mu, Sigma), mu = (1, -1), Sigma = [[1, 0.6], [0.6, 0.5]] (closed-form tests)
// One entry each in toy_distributions.cpp's table.
std::vector<std::string> toy_distribution_names();
bool is_toy_distribution(const std::string& name);

// Draws n fresh points [n, 2] from the named distribution; throws Error for an unknown name.
at::Tensor sample_toy(const std::string& name, int64_t n, at::Generator& gen);

// log p(x) per point of x [N, 2] where the density has a closed form (checkerboard: -log 32 on the
// 32 square units of on-cells, -inf elsewhere; 8gaussians; gaussian), else nullopt.
std::optional<at::Tensor> toy_log_density(const std::string& name, const at::Tensor& x);

// The checkerboard's cell of each point [N, 2]: column i from x and row j from y, [N, 2] long, both
// in 0..3 on the board; a point is on the checkerboard when the cell is on the board and i + j is odd.
at::Tensor checkerboard_cells(const at::Tensor& points);
at::Tensor on_checkerboard(const at::Tensor& points);  // [N] bool

// The `gaussian` distribution's parameters, for closed-form checks.
at::Tensor toy_gaussian_mean();        // [2]
at::Tensor toy_gaussian_covariance();  // [2, 2]

}  // namespace flowmatch
