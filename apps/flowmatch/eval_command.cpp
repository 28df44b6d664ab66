// flowmatch eval [SAMPLES --target NAME|FILE] [--model MODEL|RUN_DIR] [--json FILE]
#include <torch/torch.h>

#include <memory>

#include "commands.h"
#include "common.h"
#include "flowmatch/core/error.h"
#include "flowmatch/io/atomic_file.h"
#include "flowmatch/io/points_file.h"
#include "flowmatch/metrics/evaluation.h"
#include "flowmatch/model/model_registry.h"
#include "flowmatch/ode/sampling.h"
#include "flowmatch/train/model_usage.h"
#include "flowmatch/train/run_dir.h"

namespace flowmatch::cli {

namespace {
struct EvalArgs {
  std::string samples, target, model, json;
  int64_t reference_n = 0, straightness_n = 2000, straightness_steps = 100;
  RunSettings run;
};

void run_eval(const EvalArgs& a) {
  if (a.samples.empty() && a.model.empty()) throw Error("give SAMPLES with --target, or --model for path straightness and curvature");
  if (!a.samples.empty() && a.target.empty()) throw Error("--target is required with SAMPLES: a built-in name or a points file");
  if (!a.json.empty()) check_writable_destination(a.json);
  if (a.straightness_n <= 0 || a.straightness_steps <= 0) throw Error("--straightness-n and --straightness-steps must be positive");
  at::Generator gen = start_run(a.run.seed, a.run.threads);
  nlohmann::json report;
  if (!a.samples.empty()) {
    report = evaluate_samples(read_points(a.samples), a.target, a.reference_n, gen);
    report["samples"] = a.samples;
  }
  if (!a.model.empty()) {
    TrainedModel trained = load_trained_model(resolve_model_path(a.model));
    at::Tensor start = trained.usage.draw_start(a.straightness_n, trained.model->data_dim(), gen);
    report_path_geometry(report, *trained.model, start, a.straightness_steps);
    report["model"] = a.model;
  }
  print_report(report);
  if (!a.json.empty()) write_file_atomically(a.json, report.dump(2) + "\n");
}
}  // namespace

void add_eval_command(CLI::App& app) {
  auto args = std::make_shared<EvalArgs>();
  CLI::App* cmd = app.add_subcommand("eval", "Measure sample quality against a target, and a model's path straightness");
  cmd->add_option("samples", args->samples, "Samples to score (.npy/.csv [N, D])");
  cmd->add_option("--target", args->target, "The distribution the samples should follow: a built-in name or a points file");
  cmd->add_option("--reference-n", args->reference_n, "Target points to compare with (0 = as many as the samples)")
      ->capture_default_str();
  cmd->add_option("--model", args->model, "Also report this model's path straightness S (Liu et al.) and curvature C (0 = straight)");
  cmd->add_option("--straightness-n", args->straightness_n, "Starting points for the straightness and curvature estimates")->capture_default_str();
  cmd->add_option("--straightness-steps", args->straightness_steps, "Euler steps along each path")->capture_default_str();
  cmd->add_option("--json", args->json, "Also write the report as JSON to this file");
  add_run_options(cmd, args->run);
  cmd->callback([args] { run_eval(*args); });
}

}  // namespace flowmatch::cli
