#include "flowmatch/ode/batched_likelihood.h"

#include <torch/torch.h>

#include <vector>

#include "flowmatch/core/progress.h"

namespace flowmatch {

BatchedLogDensity log_likelihood_in_batches(VelocityModel& model, const at::Tensor& points,
                                            const LikelihoodOptions& options, int64_t batch, at::Generator& gen,
                                            const std::string& label, const at::Tensor& context) {
  torch::NoGradGuard no_grad;
  const int64_t n = points.size(0);
  Progress progress(label, n, batch, "nll", "points");
  std::vector<at::Tensor> parts;
  BatchedLogDensity out;
  double nll_sum = 0;
  for (int64_t start = 0; start < n; start += batch) {
    const int64_t end = std::min(start + batch, n);
    Guidance given;
    if (context.defined()) given.context = context.slice(0, start, end);
    DensitySolution s = log_likelihood(model, points.slice(0, start, end), options, gen, given);
    parts.push_back(s.log_density.to(torch::kDouble));
    out.nfe += s.path.nfe;
    nll_sum -= parts.back().sum().item<double>();
    progress.update(end, nll_sum / double(end));
  }
  progress.finish();
  out.seconds = progress.seconds();
  out.log_density = torch::cat(parts);
  return out;
}

at::Tensor density_on_grid(VelocityModel& model, const PlotBox& box, int64_t grid, int64_t batch,
                           const LikelihoodOptions& options, at::Generator& gen) {
  auto centres = [&](double lo, double hi) {
    return torch::linspace(lo, hi, grid + 1, torch::kDouble).slice(0, 0, grid) + (hi - lo) / double(2 * grid);
  };
  std::vector<at::Tensor> yx = torch::meshgrid({centres(box.y_min, box.y_max), centres(box.x_min, box.x_max)}, "ij");
  at::Tensor lattice = torch::stack({yx[1].flatten(), yx[0].flatten()}, 1);
  return log_likelihood_in_batches(model, lattice, options, batch, gen, "density").log_density.exp().reshape({grid, grid});
}

}  // namespace flowmatch
