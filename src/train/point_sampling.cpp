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
  if (request.from.defined() && request.from.sizes() != c10::IntArrayRef{total, model.data_dim()})
    throw Error("the points to edit have shape " + c10::str(request.from.sizes()) + " for " + std::to_string(total) +
                " samples of a " + std::to_string(model.data_dim()) + "-D model");
  if (request.from.defined() && density) throw Error("log-densities are for samples drawn from noise, not for edits");
  const double t0 = request.from.defined() ? 1 - request.strength : 0.0;
  PathAt path;  // stochastic sampling and editing move along it
  if (solver.noise_scale > 0) path = usage.path_at("the model", "stochastic sampling (--noise-scale)", true);
  else if (request.from.defined()) path = usage.path_at("the model", "editing (--from)", false);
  const PathNoise noise{path, &gen};
  torch::NoGradGuard no_grad;
  Progress progress("sample", total, batch, "nfe", "samples");
  if (!request.show_progress) progress.mute();
  for (int64_t first = 0; first < total; first += batch) {
    const int64_t rows = std::min(batch, total - first);
    SolverOptions stepping = solver;  // the line moves within the batch, with the evaluations so far
    stepping.on_progress = [&](double along, int64_t nfe) { progress.update(first + int64_t(double(rows) * along), double(nfe)); };
    std::optional<LikelihoodOptions> stepping_density = density;
    if (stepping_density) stepping_density->solver.on_progress = stepping.on_progress;
    Guidance guidance{{}, request.cfg, {}};
    if (context.defined())  // row i is drawn given context i / n
      guidance.context = context.index_select(0, torch::arange(first, first + rows, torch::kLong).div(request.n, "floor"));
    at::Tensor start = request.noise.defined() ? request.noise.slice(0, first, first + rows)
                                               : usage.draw_start(rows, model.data_dim(), gen);
    if (request.from.defined())
      start = start_on_path(path, usage.to_model_units(request.from.slice(0, first, first + rows)).to(start.dtype()), start, t0);
    SampleBatch out;
    out.first = first;
    if (density) {
      DensitySolution s = sample_with_log_density(model, start, *stepping_density, gen, guidance);
      out.path = s.path;
      out.log_density = s.log_density.to(torch::kDouble) + usage.log_density_shift();  // in the data's units
      if (!torch::isfinite(out.log_density).all().item<bool>())
        throw Error("some log-densities are not finite: the model or the solver diverged");
    } else {
      out.path = generate(model, start, stepping, guidance, noise, t0);
    }
    if (!torch::isfinite(out.path.x).all().item<bool>())
      throw Error("the samples hold non-finite values: the model or the solver diverged");
    out.path.x = usage.to_data_units(out.path.x);
    for (auto& state : out.path.states) state = usage.to_data_units(state);
    each_batch(out);
    progress.update(first + rows, double(out.path.nfe));
  }
  progress.finish();
}

}  // namespace flowmatch
