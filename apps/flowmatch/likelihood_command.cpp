// flowmatch likelihood MODEL|RUN_DIR --data NAME|FILE [--n N] [--out FILE.npy] [--png FILE]
//                      [--divergence exact|hutchinson] [--probes K] [--probe rademacher|gaussian]
//                      [--solver ...] [--float64] [--batch B] [--json FILE] [--context C.npy [--grouped]]
//                      token models: --data FILE.txt|FILE.npy [--time-draws K] (a bound: the ELBO)
#include <torch/torch.h>

#include <chrono>
#include <cmath>
#include <limits>
#include <memory>

#include "commands.h"
#include "common.h"
#include "flowmatch/core/error.h"
#include "flowmatch/core/progress.h"
#include "flowmatch/data/point_data.h"
#include "flowmatch/data/toy_distributions.h"
#include "flowmatch/figures/figures.h"
#include "flowmatch/io/atomic_file.h"
#include "flowmatch/io/npy.h"
#include "flowmatch/io/points_file.h"
#include "flowmatch/model/engine.h"
#include "flowmatch/ode/batched_likelihood.h"
#include "flowmatch/ode/likelihood.h"
#include "flowmatch/data/token_data.h"
#include "flowmatch/objective/discrete_flow_matching.h"
#include "flowmatch/train/model_usage.h"
#include "flowmatch/train/run_dir.h"

namespace flowmatch::cli {

namespace {
struct LikelihoodArgs {
  std::string model, data, out, png, json, context;
  std::string engine = "auto";
  bool overwrite = false, grouped = false;
  int64_t n = 0, batch = 5000, grid = 100;
  int64_t time_draws = 16;  // token models: stratified times per sequence in the bound
  DensityArgs density;
  RunSettings run;
};

// A token model: the path's evidence lower bound (objective/discrete_flow_matching.h) of each
// sequence, log p(x) >= ELBO, with the bound in bits per token and, for text, per character (each
// line's characters and its end, which the padding encodes).
void run_token_likelihood(const LikelihoodArgs& a, CLI::App* cmd, const TrainedModel& trained) {
  refuse_options_except(cmd, {"--data", "--n", "--batch", "--time-draws", "--out", "--json", "--seed", "--threads", "--overwrite"},
                        "a token model (" + a.model + ")");
  if (a.time_draws < 1) throw Error("--time-draws must be positive, got " + std::to_string(a.time_draws));
  VelocityModel& model = *trained.model;
  const int64_t length = model.sample_shape()[0];
  at::Tensor tokens = read_tokens_for_model(a.data, model.vocabulary(), length, trained.usage.characters, false);
  if (a.n > 0) tokens = tokens.slice(0, 0, a.n);
  const MixturePath path = trained.usage.mixture_path(model, a.model);
  at::Generator gen = start_run(a.run.seed, a.run.threads, Workload::MatrixProducts);
  const int64_t n = tokens.size(0);
  Progress progress("likelihood", n, a.batch, "bits/token", "sequences");
  std::vector<at::Tensor> bounds;
  double nats = 0;
  auto start = std::chrono::steady_clock::now();
  {
    torch::InferenceMode inference;
    for (int64_t first = 0; first < n; first += a.batch) {
      bounds.push_back(negative_elbo(model, path, tokens.slice(0, first, std::min(n, first + a.batch)), a.time_draws, gen));
      nats += bounds.back().sum().item<double>();
      progress.update(std::min(n, first + a.batch), nats / double(std::min(n, first + a.batch) * length) / std::log(2.0));
    }
  }
  progress.finish();
  std::chrono::duration<double> seconds = std::chrono::steady_clock::now() - start;
  at::Tensor nll = torch::cat(bounds);
  if (!torch::isfinite(nll).all().item<bool>()) throw Error("some bounds are not finite: the model diverged; nothing was written");
  NllSummary per_sequence = summarize_nll(-nll, 1);
  nlohmann::json report = {{"data", a.data},
                           {"n", n},
                           {"bound", "negative ELBO of the mixture path (" + path.source() + " source)"},
                           {"nll_nats", per_sequence.nats},
                           {"nll_se", per_sequence.nats_se},
                           {"bits_per_token", nats / double(n * length) / std::log(2.0)},
                           {"time_draws", a.time_draws},
                           {"seconds", seconds.count()}};
  if (trained.usage.characters) {  // each line's characters and its end (none for a line of exactly L characters)
    const double symbols = (tokens != 0).sum().item<double>() + (tokens == 0).any(1).sum().item<double>();
    report["bits_per_character"] = nats / symbols / std::log(2.0);
  }
  if (!a.out.empty()) {
    write_npy(a.out, -nll);
    report["out"] = a.out;
  }
  print_report(report);
  if (!a.json.empty()) write_file_atomically(a.json, report.dump(2) + "\n");
}

void run_likelihood(const LikelihoodArgs& a, CLI::App* cmd) {
  LikelihoodOptions options = a.density.options;
  options.validate();
  refuse_unused_solver_options(cmd, options.solver);
  if (a.data.empty()) throw Error("--data is required: a built-in distribution name or a .npy/.csv file of points");
  if (a.n < 0) throw Error("--n must be non-negative, got " + std::to_string(a.n));
  if (a.batch <= 0) throw Error("--batch must be positive, got " + std::to_string(a.batch));
  if (a.grid < 8 || a.grid > 2048) throw Error("--grid must be between 8 and 2048, got " + std::to_string(a.grid));
  if (!a.out.empty()) require_file_type(a.out, "--out", ".npy");
  if (!a.png.empty()) require_file_type(a.png, "--png", ".png");
  for (const auto& path : {a.out, a.png, a.json})
    if (!path.empty()) check_writable_destination(path, a.overwrite);

  TrainedModel trained = load_trained_model(a.model, a.density.float64);
  if (trained.model->vocabulary() > 0) return run_token_likelihood(a, cmd, trained);
  require_points_model(*trained.model, a.model, "likelihood");
  trained.usage.require_normal_start(a.model);
  std::shared_ptr<VelocityModel> model = trained.model;
  if (!a.png.empty() && model->data_dim() != 2)
    throw Error("--png draws 2-D densities; this model is " + std::to_string(model->data_dim()) + "-D");
  bool native = runs_natively(*model, a.engine);
  at::Generator gen = start_run(a.run.seed, a.run.threads, native ? Workload::NativeKernels : Workload::MatrixProducts);
  if (native) model = on_engine(model, "native", a.run.threads);
  PointData data(a.data, 0, gen);
  // Fresh draws from a built-in (10 000 unless --n), all rows of a file (or --n of them).
  int64_t n = a.n > 0 ? a.n : (data.is_finite() ? std::numeric_limits<int64_t>::max() : 10000);
  if (model->context_dim() > 0 && !a.context.empty() && !data.is_finite())
    throw Error("--context needs --data to be a points file with one row per context row");
  if (a.grouped && a.context.empty()) throw Error("--grouped needs --context: the rows of --data are grouped by its rows");
  at::Tensor context = contexts_per_row(*model, trained.usage, a.context, data.is_finite() ? data.points().size(0) : 0, a.model,
                                        "log p(x | c)", a.grouped);  // one row per point, as the model takes it
  if (context.defined() && (a.n > 0 || !a.png.empty()))
    throw Error("--n and --png are not available with --context: every row is scored given its context");
  at::Tensor points = context.defined() ? data.points() : data.reference(n, gen);
  if (points.size(1) != model->data_dim())
    throw Error(a.data + " holds " + std::to_string(points.size(1)) + "-D points but the model is " +
                std::to_string(model->data_dim()) + "-D");
  if (trained.usage.data_scaling && !a.png.empty()) throw Error("--png is not available for a standardized model yet");

  // log p_x(x) = log p_z(z) + log |dz/dx| for a model trained on z-scored x.
  BatchedLogDensity result = log_likelihood_in_batches(*model, trained.usage.to_model_units(points), options, a.batch, gen,
                                                       "likelihood", context);
  result.log_density += trained.usage.log_density_shift();
  if (!torch::isfinite(result.log_density).all().item<bool>())
    throw Error("some log-densities are not finite: the model or the solver diverged; nothing was written");
  if (result.stopped_by) {  // the finished batches are kept
    const int64_t done = result.log_density.size(0);
    if (!a.out.empty() && done > 0) write_npy(a.out, result.log_density);
    throw Stopped(result.stopped_by, "stopped after " + std::to_string(done) + " of " + std::to_string(points.size(0)) +
                                         " points" + (a.out.empty() || done == 0 ? "" : "; " + a.out + " holds the log-densities of the first " +
                                                                                      std::to_string(done)));
  }
  NllSummary nll = summarize_nll(result.log_density, points.size(1));
  nlohmann::json report = {{"data", a.data},
                           {"n", points.size(0)},
                           {"nll_nats", nll.nats},
                           {"nll_se", nll.nats_se},
                           {"bits_per_dim", nll.bits_per_dim},
                           {"bits_per_dim_se", nll.bits_per_dim_se},
                           {"engine", native ? "native" : "torch"}};
  std::optional<at::Tensor> truth;
  if (is_toy_distribution(a.data)) truth = toy_log_density(a.data, points);
  if (truth) {
    // The data's own NLL on the same points (its entropy, estimated) and the model's excess over
    // it, mean(log p_data - log p_model): an estimate of KL(data || model), summarised as the NLL
    // of the log-ratio log p_model - log p_data.
    NllSummary excess = summarize_nll(result.log_density - *truth, points.size(1));
    report["data_nll_nats"] = -truth->mean().item<double>();
    report["excess_nats"] = excess.nats;
    report["excess_se"] = excess.nats_se;
  }
  if (a.grouped) {  // -mean log p(x | c_k) over each context's block, e.g. posterior samples per observation
    at::Tensor per_context = -result.log_density.reshape({read_points(a.context).size(0), -1}).mean(1).to(torch::kDouble);
    report["nll_per_context"] = std::vector<double>(per_context.data_ptr<double>(), per_context.data_ptr<double>() + per_context.numel());
  }
  report["divergence"] = options.describe_divergence();
  report["solver"] = options.solver.method;
  report["dtype"] = a.density.float64 ? "float64" : "float32";
  report["nfe_total"] = result.nfe;
  report["batches"] = (points.size(0) + a.batch - 1) / a.batch;
  report["seconds"] = result.seconds;
  report["points_per_second"] = double(points.size(0)) / std::max(result.seconds, 1e-9);

  if (!a.out.empty()) {  // before the picture, which takes as long again
    write_npy(a.out, result.log_density);
    report["out"] = a.out;
  }
  if (!a.png.empty()) {
    PlotBox box = square_bounds(points);
    at::Tensor density = density_on_grid(*model, box, a.grid, a.batch, options, gen);
    draw_density_map_png(a.png, density, box,
                         "model density (" + options.describe_divergence() + ", " + options.solver.method + ")");
    report["png"] = a.png;
  }
  print_report(report);
  if (!a.json.empty()) write_file_atomically(a.json, report.dump(2) + "\n");
}
}  // namespace

void add_likelihood_command(CLI::App& app) {
  auto args = std::make_shared<LikelihoodArgs>();
  CLI::App* cmd = app.add_subcommand(
      "likelihood", "Exact log-likelihood log p(x) of data under a model: integrates x back to noise with div v");
  cmd->add_option("model", args->model, "A weights file (.safetensors) or a run folder")->required();
  cmd->add_option("--data", args->data, "A built-in distribution (fresh draws) or a .npy/.csv file of points [N, D]; token "
                                        "models: a .txt of lines or a .npy of int64 tokens, scored by a bound (the ELBO)");
  cmd->add_option("--n", args->n, "Points to score (0 = 10000 from a built-in, every row of a file)")->capture_default_str();
  cmd->add_option("--out", args->out, "Write log p of each point, in nats, to this .npy [N] (float64)");
  cmd->add_option("--context", args->context, "Context models: one context row per row of --data; gives log p(x_i | c_i)");
  cmd->add_flag("--grouped", args->grouped,
                "With --context of M rows: --data is M blocks of consecutive rows, block k given context row k (as sample "
                "--context writes them); reports each block's mean NLL");
  cmd->add_option("--png", args->png, "Also draw the model's density on a grid over the data (2-D models)");
  cmd->add_option("--grid", args->grid, "Grid points per side for --png")->capture_default_str();
  cmd->add_option("--batch", args->batch, "Points integrated together (adaptive solvers step the batch together)")
      ->capture_default_str();
  cmd->add_option("--json", args->json, "Also write the report as JSON to this file");
  cmd->add_option("--time-draws", args->time_draws,
                  "Token models: times drawn per sequence (stratified) to estimate its evidence lower bound")
      ->capture_default_str();
  args->density.options.solver.method = "dopri5";
  add_solver_options(cmd, args->density.options.solver);
  add_density_options(cmd, args->density);
  add_overwrite_flag(cmd, args->overwrite);
  add_engine_option(cmd, args->engine);
  add_run_options(cmd, args->run);
  cmd->callback([args, cmd] { run_likelihood(*args, cmd); });
}

}  // namespace flowmatch::cli
