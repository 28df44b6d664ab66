#include "flowmatch/train/point_sampling.h"

#include <torch/torch.h>

#include "flowmatch/core/error.h"
#include "flowmatch/core/progress.h"
#include "flowmatch/ode/sampling.h"

namespace flowmatch {

void sample_points(VelocityModel& model, const ModelUsage& usage, const PointSampling& request,
                   const SolverOptions& solver, at::Generator& gen, const std::function<void(const SampleBatch&)>& each_batch) {
  const int64_t total = request.rows(), batch = request.batch;
  if (request.n < 1 || batch < 1) throw Error("sampling needs n >= 1 and batch >= 1");
  at::Tensor context = request.contexts.defined() ? usage.model_context(model, request.contexts) : at::Tensor();
  if (request.noise.defined() && request.noise.size(0) != total)
    throw Error("the start points hold " + std::to_string(request.noise.size(0)) + " rows for " + std::to_string(total) + " samples");
  std::optional<LikelihoodOptions> density = request.density;
  if (density) {
    density->solver = solver;  // the divergence along the sampling solve
    density->validate();
  }
  torch::NoGradGuard no_grad;
  Progress progress("sample", total, batch, "", "samples");
  for (int64_t first = 0; first < total; first += batch) {
    const int64_t rows = std::min(batch, total - first);
    Guidance guidance{{}, request.cfg, {}};
    if (context.defined())  // row i is drawn given context i / n
      guidance.context = context.index_select(0, torch::arange(first, first + rows, torch::kLong).div(request.n, "floor"));
    at::Tensor start = request.noise.defined() ? request.noise.slice(0, first, first + rows)
                                               : usage.draw_start(rows, model.data_dim(), gen);
    SampleBatch out;
    out.first = first;
    if (density) {
      DensitySolution s = sample_with_log_density(model, start, *density, gen, guidance);
      out.path = s.path;
      out.log_density = s.log_density.to(torch::kDouble) + usage.log_density_shift();  // in the data's units
      if (!torch::isfinite(out.log_density).all().item<bool>())
        throw Error("some log-densities are not finite: the model or the solver diverged");
    } else {
      out.path = generate(model, start, solver, guidance);
    }
    if (!torch::isfinite(out.path.x).all().item<bool>())
      throw Error("the samples hold non-finite values: the model or the solver diverged");
    out.path.x = usage.to_data_units(out.path.x);
    for (auto& state : out.path.states) state = usage.to_data_units(state);
    each_batch(out);
    progress.update(first + rows, 0);
  }
  progress.finish();
}

}  // namespace flowmatch
