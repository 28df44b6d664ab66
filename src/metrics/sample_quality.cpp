#include "flowmatch/metrics/sample_quality.h"

#include <torch/torch.h>

#include <cmath>

namespace flowmatch {

namespace {
constexpr int64_t kBlock = 2048;

// Sum over all pairs (i, j) of |a_i - b_j|, in float64, block by block.
double pairwise_distance_sum(const at::Tensor& a, const at::Tensor& b) {
  double total = 0.0;
  for (int64_t i = 0; i < a.size(0); i += kBlock) {
    at::Tensor rows = a.slice(0, i, i + kBlock);
    for (int64_t j = 0; j < b.size(0); j += kBlock) total += torch::cdist(rows, b.slice(0, j, j + kBlock)).sum().item<double>();
  }
  return total;
}

// Values of the sorted 1-D sample `sorted` [n, P] at quantile levels (k + 0.5) / m, k < m,
// by linear interpolation: so sets of different sizes compare at the same levels.
at::Tensor quantiles(const at::Tensor& sorted, int64_t m) {
  int64_t n = sorted.size(0);
  if (n == m) return sorted;
  at::Tensor pos = ((torch::arange(m, torch::kDouble) + 0.5) * (double(n) / double(m)) - 0.5).clamp(0, double(n - 1));
  at::Tensor lo = pos.floor().to(torch::kLong), hi = pos.ceil().to(torch::kLong);
  at::Tensor w = (pos - lo.to(torch::kDouble)).unsqueeze(1);
  return sorted.index_select(0, lo) * (1 - w) + sorted.index_select(0, hi) * w;
}
}  // namespace

double energy_distance(const at::Tensor& a_in, const at::Tensor& b_in) {
  at::Tensor a = a_in.to(torch::kDouble), b = b_in.to(torch::kDouble);
  double n = double(a.size(0)), m = double(b.size(0));
  double cross = pairwise_distance_sum(a, b) / (n * m);
  double within_a = n > 1 ? pairwise_distance_sum(a, a) / (n * (n - 1)) : 0.0;
  double within_b = m > 1 ? pairwise_distance_sum(b, b) / (m * (m - 1)) : 0.0;
  return 2 * cross - within_a - within_b;
}

double sliced_wasserstein2(const at::Tensor& a_in, const at::Tensor& b_in, int64_t projections, at::Generator& gen) {
  at::Tensor a = a_in.to(torch::kDouble), b = b_in.to(torch::kDouble);
  at::Tensor theta = torch::randn({a.size(1), projections}, gen, torch::kDouble);
  theta = theta / theta.norm(2, 0, true);
  at::Tensor pa = std::get<0>(torch::matmul(a, theta).sort(0));
  at::Tensor pb = std::get<0>(torch::matmul(b, theta).sort(0));
  int64_t m = std::max(pa.size(0), pb.size(0));
  return std::sqrt((quantiles(pa, m) - quantiles(pb, m)).pow(2).mean().item<double>());
}

namespace {
// Mean [F] and covariance [F, F] (divided by N - 1) of the rows of x.
std::pair<at::Tensor, at::Tensor> mean_and_covariance(const at::Tensor& x) {
  at::Tensor mean = x.mean(0);
  at::Tensor centred = x - mean;
  return {mean, torch::matmul(centred.t(), centred) / double(x.size(0) - 1)};
}

// S^1/2 of a symmetric positive semi-definite S, from its eigendecomposition (negative rounding clamped).
at::Tensor psd_sqrt(const at::Tensor& s) {
  auto [values, vectors] = torch::linalg::eigh(s, "L");
  return torch::matmul(vectors * values.clamp_min(0).sqrt().unsqueeze(0), vectors.t());
}
}  // namespace

double frechet_distance(const at::Tensor& a, const at::Tensor& b) {
  auto [mean_a, cov_a] = mean_and_covariance(a.to(torch::kDouble));
  auto [mean_b, cov_b] = mean_and_covariance(b.to(torch::kDouble));
  at::Tensor root_a = psd_sqrt(cov_a);
  at::Tensor middle = torch::matmul(torch::matmul(root_a, cov_b), root_a);
  middle = (middle + middle.t()) / 2;  // symmetric up to rounding
  double cross = torch::linalg::eigvalsh(middle, "L").clamp_min(0).sqrt().sum().item<double>();
  return (mean_a - mean_b).pow(2).sum().item<double>() + cov_a.trace().item<double>() + cov_b.trace().item<double>() -
         2 * cross;
}

}  // namespace flowmatch
