#include "flowmatch/ode/batched_likelihood.h"

#include <torch/torch.h>

#include <cmath>
#include <vector>

#include "flowmatch/core/progress.h"
#include "flowmatch/core/stop_signals.h"

namespace flowmatch {

BatchedLogDensity log_likelihood_in_batches(VelocityModel& model, const at::Tensor& points,
                                            const LikelihoodOptions& options, int64_t batch, at::Generator& gen,
                                            const std::string& label, const at::Tensor& context) {
  torch::NoGradGuard no_grad;
  const int64_t n = points.size(0);
  Progress progress(label, n, std::max<int64_t>(1, batch / 10), "nll", "points");
  StopSignals stop;
  std::vector<at::Tensor> parts;
  BatchedLogDensity out;
  double nll_sum = 0;
  struct Interrupted {};
  for (int64_t start = 0; start < n; start += batch) {
    const int64_t end = std::min(start + batch, n);
    LikelihoodOptions stepping = options;  // the line moves with the solver: start + (end - start) x its progress
    stepping.solver.on_progress = [&](double along, int64_t nfe) {
      if (stop.requested()) throw Interrupted{};  // the batch in progress is dropped
      progress.note("nfe " + std::to_string(nfe));
      progress.update(start + int64_t(double(end - start) * along), start > 0 ? nll_sum / double(start) : NAN);
    };
    Guidance given;
    if (context.defined()) given.context = context.slice(0, start, end);
    DensitySolution s;
    try {
      s = log_likelihood(model, points.slice(0, start, end), stepping, gen, given);
    } catch (const Interrupted&) {
      break;
    }
    parts.push_back(s.log_density.to(torch::kDouble));
    out.nfe += s.path.nfe;
    nll_sum -= parts.back().sum().item<double>();
    progress.update(end, nll_sum / double(end));
  }
  progress.finish();
  out.seconds = progress.seconds();
  out.log_density = parts.empty() ? torch::zeros({0}, torch::kDouble) : torch::cat(parts);
  out.stopped_by = stop.signal();
  return out;
}

at::Tensor density_on_grid(VelocityModel& model, const PlotBox& box, int64_t grid, int64_t batch,
                           const LikelihoodOptions& options, at::Generator& gen) {
  auto centres = [&](double lo, double hi) {
    return torch::linspace(lo, hi, grid + 1, torch::kDouble).slice(0, 0, grid) + (hi - lo) / double(2 * grid);
  };
  std::vector<at::Tensor> yx = torch::meshgrid({centres(box.y_min, box.y_max), centres(box.x_min, box.x_max)}, "ij");
  at::Tensor lattice = torch::stack({yx[1].flatten(), yx[0].flatten()}, 1);
  BatchedLogDensity density = log_likelihood_in_batches(model, lattice, options, batch, gen, "density");
  if (density.stopped_by)
    throw Stopped(density.stopped_by, "stopped after " + std::to_string(density.log_density.size(0)) + " of " +
                                          std::to_string(lattice.size(0)) + " grid points of the density picture");
  return density.log_density.exp().reshape({grid, grid});
}

}  // namespace flowmatch
