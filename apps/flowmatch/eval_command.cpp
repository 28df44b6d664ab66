// flowmatch eval [SAMPLES --target NAME|FILE [--c2st [--groups K]]] [--flow MODEL|RUN_DIR] [--json FILE]
//               token samples: SAMPLES.npy --target discrete-checkerboard [--bins V]
//                              SAMPLES.txt --target LINES.txt [--held-out LINES.txt]
#include <torch/torch.h>

#include <iostream>
#include <memory>

#include "commands.h"
#include "common.h"
#include "flowmatch/core/error.h"
#include "flowmatch/io/atomic_file.h"
#include "flowmatch/io/npy.h"
#include "flowmatch/io/points_file.h"
#include "flowmatch/core/file_name.h"
#include "flowmatch/data/token_data.h"
#include "flowmatch/metrics/token_quality.h"
#include "flowmatch/metrics/c2st.h"
#include "flowmatch/metrics/evaluation.h"
#include "flowmatch/model/model_registry.h"
#include "flowmatch/ode/sampling.h"
#include "flowmatch/train/model_usage.h"
#include "flowmatch/train/run_dir.h"

namespace flowmatch::cli {

namespace {
struct EvalArgs {
  std::string samples, target, flow, json;
  std::string held_out;  // token samples: lines held out of training
  int64_t bins = 128;    // token samples of the discrete checkerboard
  int64_t reference_n = 0, straightness_n = 2000, straightness_steps = 100, groups = 1;
  bool c2st = false, overwrite = false;
  RunSettings run;
};

// C2ST of samples against a reference file, each split into `groups` equal blocks of rows (the
// samples of one context each) scored block against block: the mean and each block's.
nlohmann::json grouped_c2st(const at::Tensor& samples, const std::string& target, int64_t groups) {
  if (groups < 1) throw Error("--groups must be positive");
  at::Tensor reference = read_points(target);
  if (samples.size(0) % groups || reference.size(0) % groups)
    throw Error("--groups " + std::to_string(groups) + " must divide the rows of both sets (" + std::to_string(samples.size(0)) +
                " and " + std::to_string(reference.size(0)) + ")");
  std::vector<double> scores;
  double mean = 0;
  for (int64_t k = 0; k < groups; ++k) {
    scores.push_back(c2st(reference.chunk(groups)[k], samples.chunk(groups)[k]));
    mean += scores.back() / double(groups);
  }
  return groups == 1 ? nlohmann::json(mean) : nlohmann::json{{"mean", mean}, {"per_group", scores}};
}

// Token samples: against the discrete checkerboard's exact distribution (total variation, with the
// floor of as many exact samples, and the on-cell share), or text lines against the training lines
// (and held-out ones): the shares that are distinct and that are found there.
void run_token_eval(const EvalArgs& a, CLI::App* cmd, at::Generator& gen, nlohmann::json& report) {
  refuse_options_except(cmd, {"--target", "--bins", "--held-out", "--json", "--overwrite", "--seed", "--threads"}, "token samples");
  if (a.target == "discrete-checkerboard") {
    check_checkerboard_bins(a.bins);
    if (!ends_with(a.samples, ".npy")) throw Error("discrete-checkerboard samples are a .npy of int64 tokens [N, 2], got " + a.samples);
    CheckerboardTokenScore score = score_checkerboard_tokens(read_npy(a.samples), a.bins, gen);
    report = {{"tv", score.tv}, {"exact_tv", score.exact_tv}, {"tv_ratio", score.tv / score.exact_tv},
              {"on_cell_fraction", score.on_cell_fraction}, {"bins", a.bins}};
    return;
  }
  if (!ends_with(a.samples, ".txt") || !ends_with(a.target, ".txt"))
    throw Error("token samples are scored against discrete-checkerboard, or as text lines (.txt) against the training lines (.txt); got " +
                a.samples + " and --target " + a.target);
  std::vector<std::string> samples = read_text_lines(a.samples, true);
  report = {{"n", samples.size()}, {"distinct_share", distinct_share(samples)},
            {"in_target_share", share_found_in(samples, read_text_lines(a.target))}};
  if (!a.held_out.empty()) report["in_held_out_share"] = share_found_in(samples, read_text_lines(a.held_out));
}

void run_eval(const EvalArgs& a, CLI::App* cmd) {
  if (a.samples.empty() && a.flow.empty()) throw Error("give SAMPLES with --target, or --flow for path straightness and curvature");
  if (!a.samples.empty() && a.target.empty()) throw Error("--target is required with SAMPLES: a built-in name or a points file");
  if (!a.json.empty()) check_writable_destination(a.json, a.overwrite);
  if (a.straightness_n <= 0 || a.straightness_steps <= 0) throw Error("--straightness-n and --straightness-steps must be positive");
  at::Generator gen = start_run(a.run.seed, a.run.threads);
  nlohmann::json report;
  if (!a.samples.empty() && is_token_source(a.samples)) {
    run_token_eval(a, cmd, gen, report);
    report["samples"] = a.samples;
  } else if (!a.samples.empty()) {
    if (cmd->count("--bins") || cmd->count("--held-out")) throw Error("--bins and --held-out are for token samples");
    at::Tensor samples = read_points(a.samples);
    if (a.c2st) {
      report = {{"c2st", grouped_c2st(samples, a.target, a.groups)}};
    } else {
      if (a.groups != 1) throw Error("--groups is for --c2st");
      report = evaluate_samples(samples, a.target, a.reference_n, gen);
    }
    report["samples"] = a.samples;
  }
  if (!a.flow.empty()) {
    TrainedModel trained = load_trained_model(resolve_model_path(a.flow));
    require_points_model(*trained.model, a.flow, "eval --flow (path straightness)");
    if (trained.model->context_dim() > 0) throw Error("--flow measures an unconditional flow's paths; " + a.flow + " takes a context");
    at::Tensor start = trained.usage.draw_start(a.straightness_n, trained.model->data_dim(), gen);
    report_path_geometry(report, *trained.model, start, a.straightness_steps);
    report["model"] = a.flow;
  }
  print_report(report);
  if (!a.json.empty()) write_file_atomically(a.json, report.dump(2) + "\n");
}
}  // namespace

void add_eval_command(CLI::App& app) {
  auto args = std::make_shared<EvalArgs>();
  CLI::App* cmd = app.add_subcommand("eval", "Measure sample quality against a target, and a model's path straightness");
  cmd->add_option("samples", args->samples, "Samples to score (.npy/.csv [N, D]; token samples: .npy of int64 tokens, .txt lines)");
  cmd->add_option("--target", args->target, "The distribution the samples should follow: a built-in name or a points file");
  cmd->add_option("--bins", args->bins, "Token samples of discrete-checkerboard: its bins per coordinate")->capture_default_str();
  cmd->add_option("--held-out", args->held_out, "Text samples: lines held out of training (.txt), to count the samples found there");
  cmd->add_option("--reference-n", args->reference_n, "Target points to compare with (0 = as many as the samples)")
      ->capture_default_str();
  cmd->add_flag("--c2st", args->c2st,
                "Score with the classifier two-sample test as sbibm computes it (0.5: indistinguishable from --target, a points file)");
  cmd->add_option("--groups", args->groups,
                  "--c2st: both files hold this many equal blocks of rows (one per observation); score each block")
      ->capture_default_str();
  cmd->add_option("--flow", args->flow,
                  "Also report this trained flow's path straightness S (Liu et al.) and curvature C (0 = straight)");
  // The old spelling: elsewhere --model names an architecture (train, convert).
  cmd->add_option("--model", args->flow, "The old spelling of --flow")->group("");
  cmd->add_option("--straightness-n", args->straightness_n, "Starting points for the straightness and curvature estimates")->capture_default_str();
  cmd->add_option("--straightness-steps", args->straightness_steps, "Euler steps along each path")->capture_default_str();
  cmd->add_option("--json", args->json, "Also write the report as JSON to this file");
  add_overwrite_flag(cmd, args->overwrite);
  add_run_options(cmd, args->run);
  cmd->callback([args, cmd] {
    if (cmd->count("--model")) std::cerr << "note: eval --model is now spelled --flow (--model names an architecture elsewhere)\n";
    run_eval(*args, cmd);
  });
}

}  // namespace flowmatch::cli
