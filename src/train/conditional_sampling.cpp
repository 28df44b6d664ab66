#include "flowmatch/train/conditional_sampling.h"

#include <torch/torch.h>

#include <vector>

#include "flowmatch/core/error.h"
#include "flowmatch/core/progress.h"
#include "flowmatch/ode/sampling.h"

namespace flowmatch {

ConditionalSamples sample_given_contexts(VelocityModel& model, const ModelUsage& usage, const at::Tensor& contexts,
                                         int64_t n, const SolverOptions& solver, double cfg, int64_t batch,
                                         at::Generator& gen) {
  if (n < 1 || batch < 1) throw Error("sampling needs n >= 1 and batch >= 1");
  at::Tensor context = usage.model_context(model, contexts);
  const int64_t total = context.size(0) * n;
  Progress progress("sample", total, batch, "", "samples");
  std::vector<at::Tensor> parts;
  ConditionalSamples out;
  for (int64_t start = 0; start < total; start += batch) {
    const int64_t rows = std::min(batch, total - start);
    at::Tensor row_context = context.index_select(0, torch::arange(start, start + rows, torch::kLong).div(n, "floor"));
    Guidance guidance{{}, cfg, row_context};
    Solution s = generate(model, usage.draw_start(rows, model.data_dim(), gen), solver, guidance);
    if (!torch::isfinite(s.x).all().item<bool>())
      throw Error("the samples hold non-finite values: the model or the solver diverged");
    parts.push_back(usage.to_data_units(s.x));
    out.nfe = s.nfe;
    progress.update(start + rows, 0);
  }
  progress.finish();
  out.x = torch::cat(parts);
  return out;
}

}  // namespace flowmatch
