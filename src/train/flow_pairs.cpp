#include "flowmatch/train/flow_pairs.h"

#include <torch/torch.h>

#include <filesystem>
#include <optional>

#include "flowmatch/core/error.h"
#include "flowmatch/core/progress.h"
#include "flowmatch/core/stop_signals.h"
#include "flowmatch/io/safetensors.h"
#include "flowmatch/ode/sampling.h"

namespace flowmatch {

namespace {
// A progress file: all the starting points z0 [N, D], and the ends z1 [K, D] of the first K.
FlowPairs read_pairs_so_far(const std::string& path) {
  Safetensors file = read_safetensors(path);
  FlowPairs pairs;
  pairs.z0 = file.at("z0");
  pairs.z1 = file.at("z1");
  if (pairs.z0.dim() != 2 || pairs.z1.dim() != 2 || pairs.z1.size(0) > pairs.z0.size(0) || pairs.z1.size(1) != pairs.z0.size(1))
    throw Error(path + ": not pairs in progress: z0 " + c10::str(pairs.z0.sizes()) + ", z1 " + c10::str(pairs.z1.sizes()));
  if (auto it = file.metadata.find("flowmatch.pairs.nfe"); it != file.metadata.end()) pairs.nfe = std::atoll(it->second.c_str());
  return pairs;
}
}  // namespace

FlowPairs make_flow_pairs(VelocityModel& model, const ModelUsage& usage, int64_t n, const SolverOptions& solver,
                          int64_t batch, at::Generator& gen, const at::Tensor& contexts,
                          const std::string& progress_file) {
  validate_sampler(solver);
  if (n <= 0) throw Error("the number of pairs must be positive, got " + std::to_string(n));
  if (batch <= 0) throw Error("the pair batch must be positive, got " + std::to_string(batch));
  if (model.context_dim() > 0 && !contexts.defined())
    throw Error("the model takes a " + std::to_string(model.context_dim()) +
                "-D context: its pairs need contexts to be drawn given");
  FlowPairs pairs;
  if (contexts.defined()) {  // pair i given context row i mod M
    at::Tensor context = usage.model_context(model, contexts);
    pairs.context = context.index_select(0, torch::arange(n, torch::kLong).remainder(context.size(0))).to(torch::kFloat);
  }
  pairs.z0 = usage.draw_start(n, model.data_dim(), gen).to(torch::kFloat);
  std::vector<at::Tensor> ends;
  int64_t done = 0;
  if (!progress_file.empty() && std::filesystem::exists(progress_file)) {
    FlowPairs kept = read_pairs_so_far(progress_file);
    if (!kept.z0.equal(pairs.z0))
      throw Error(progress_file + " holds pairs of other starting points (another seed or other options); remove it to start over");
    ends.push_back(kept.z1);
    done = kept.z1.size(0);
    pairs.nfe = kept.nfe;
  }
  std::optional<StopSignals> stop;
  if (!progress_file.empty()) stop.emplace();
  Progress progress("pairs", n, batch, "nfe", "points");
  progress.resume_at(done);
  for (int64_t start = done; start < n; start += batch) {
    const int64_t end = std::min(start + batch, n);
    Guidance given;
    if (pairs.context.defined()) given.context = pairs.context.slice(0, start, end);
    Solution solution = generate(model, pairs.z0.slice(0, start, end), solver, given);
    ends.push_back(solution.x.to(torch::kFloat));
    pairs.nfe = std::max(pairs.nfe, solution.nfe);
    progress.update(end, double(solution.nfe));
    if (!stop) continue;
    save_flow_pairs(progress_file, FlowPairs{pairs.z0, torch::cat(ends), {}, "", pairs.nfe});
    if (stop->requested())
      throw Stopped(stop->signal(), std::string(stop->name()) + " received: stopped after " + std::to_string(end) + " of " +
                                        std::to_string(n) + " pairs with them saved in " + progress_file);
  }
  progress.finish();
  pairs.z1 = torch::cat(ends);
  if (!torch::isfinite(pairs.z1).all().item<bool>())
    throw Error("the flow produced non-finite points: the model or the solver diverged");
  pairs.sampler = solver.describe();
  return pairs;
}

void save_flow_pairs(const std::string& path, const FlowPairs& pairs) {
  Safetensors file;
  file.tensors = {{"z0", pairs.z0}, {"z1", pairs.z1}};
  if (pairs.context.defined()) file.tensors.emplace_back("context", pairs.context);
  file.metadata = {{"flowmatch.pairs.sampler", pairs.sampler}, {"flowmatch.pairs.nfe", std::to_string(pairs.nfe)}};
  write_safetensors(path, file);
}

FlowPairs load_flow_pairs(const std::string& path) {
  Safetensors file = read_safetensors(path);
  FlowPairs pairs;
  try {
    pairs.z0 = file.at("z0").to(torch::kFloat);
    pairs.z1 = file.at("z1").to(torch::kFloat);
  } catch (const Error& e) {
    throw Error(path + ": not a pairs file: " + e.what());
  }
  if (pairs.z0.dim() != 2 || pairs.z0.sizes() != pairs.z1.sizes() || pairs.z0.size(0) == 0)
    throw Error(path + ": z0 and z1 must be [N, D] of the same shape, got " + c10::str(pairs.z0.sizes()) + " and " +
                c10::str(pairs.z1.sizes()));
  if (file.has("context")) {
    pairs.context = file.at("context").to(torch::kFloat);
    if (pairs.context.dim() != 2 || pairs.context.size(0) != pairs.z0.size(0))
      throw Error(path + ": the context must be [N, C] with N = " + std::to_string(pairs.z0.size(0)) + ", got " +
                  c10::str(pairs.context.sizes()));
  }
  for (const at::Tensor& t : {pairs.z0, pairs.z1, pairs.context})
    if (t.defined() && !torch::isfinite(t).all().item<bool>()) throw Error(path + ": the pairs hold non-finite values");
  if (auto it = file.metadata.find("flowmatch.pairs.sampler"); it != file.metadata.end()) pairs.sampler = it->second;
  if (auto it = file.metadata.find("flowmatch.pairs.nfe"); it != file.metadata.end()) pairs.nfe = std::atoll(it->second.c_str());
  return pairs;
}

}  // namespace flowmatch
