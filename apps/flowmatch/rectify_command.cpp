// flowmatch reflow  RUN_DIR --out RUN_DIR2 [--pairs N | --pairs-file FILE] [--context C.npy] [--pair-solver ...]
//                   [training options]
// flowmatch distill RUN_DIR --out RUN_DIR2 --steps-out K [the same]
// flowmatch reflow|distill --resume RUN_DIR2
//
// Both retrain a flow on its own coupling (Liu et al. 2022, rectified flow): draw N starting points
// z0, integrate them with the trained model to z1, and train on the fixed pairs (z0, z1), starting
// from the model's weights. Reflow trains at all times t in [0, 1] and gives the next rectified flow,
// whose paths are straighter; distillation trains only at the K grid times t = k/K, so that K Euler
// steps of the new model land where the old flow did (K = 1: z1 = z0 + v(z0, 0)). A context model's
// pairs are drawn given contexts (--context, pair i given row i mod M) and keep them: the new model
// learns the same p(x | c) with straighter paths.
#include <torch/torch.h>

#include <filesystem>
#include <iostream>
#include <memory>
#include <optional>

#include "commands.h"
#include "common.h"
#include "flowmatch/core/error.h"
#include "flowmatch/core/registry.h"
#include "flowmatch/core/threads.h"
#include "flowmatch/data/conditional_data.h"
#include "flowmatch/model/model_registry.h"
#include "flowmatch/model/engine.h"
#include "flowmatch/train/flow_pairs.h"
#include "flowmatch/train/model_usage.h"
#include "flowmatch/train/run_dir.h"
#include "flowmatch/train/training_run.h"

namespace flowmatch::cli {

namespace {
constexpr const char* kPairsFile = "pairs.safetensors";

struct RectifyArgs {
  std::string model, out, pairs_file, context, config, resume;
  bool overwrite = false;
  int64_t pairs = 50000, pair_batch = 5000;
  int64_t steps_out = 0;  // distill: the generator's Euler steps
  SolverOptions pair_solver;
  TrainOptions options;
  RunSettings run;
};

TrainOptions rectify_defaults() {
  TrainOptions o;
  o.steps = 4000;  // a fine-tune of trained weights: half of training from scratch
  o.lr.peak = 1e-3;
  o.lr.warmup = 100;
  return o;
}

// The pairs of --pairs-file, checked against the model.
FlowPairs reuse_pairs(const std::string& path, const VelocityModel& model) {
  FlowPairs pairs = load_flow_pairs(path);
  if (pairs.z0.size(1) != model.data_dim())
    throw Error(path + " holds " + std::to_string(pairs.z0.size(1)) + "-D pairs but the model is " +
                std::to_string(model.data_dim()) + "-D");
  const int64_t context_dim = pairs.context.defined() ? pairs.context.size(1) : 0;
  if (context_dim != model.context_dim())
    throw Error(path + " holds pairs with a context of size " + std::to_string(context_dim) +
                " but the model takes one of size " + std::to_string(model.context_dim()));
  std::cerr << "reusing " << pairs.z0.size(0) << " pairs from " << path << "\n";
  return pairs;
}

void run_rectify(const RectifyArgs& parsed, CLI::App* cmd, bool distill) {
  const bool resuming = !parsed.resume.empty();
  refuse_unused_solver_options(cmd, parsed.pair_solver, "pair-");  // the command line's (a config records every option)
  if (resuming)
    apply_resumed_run(cmd, parsed.resume, kPairsFile, "saved after every --pair-batch pairs");
  else if (!parsed.config.empty())
    apply_config_file(cmd, parsed.config);
  RectifyArgs a = parsed;  // now with the config file's options
  if (resuming) a.out = a.resume;
  if (a.model.empty()) throw Error("the flow to " + cmd->get_name() + " is required: a weights file or a run folder");
  if (a.out.empty()) throw Error("--out is required: the run folder for the new model");
  if (distill && a.steps_out < 1) throw Error("--steps-out must be at least 1, got " + std::to_string(a.steps_out));
  if (a.pairs < 1 || a.pair_batch < 1) throw Error("--pairs and --pair-batch must be positive");
  a.pair_solver.validate();
  TrainOptions options = a.options;
  if (distill) {
    options.objective.time_sampler.name = "grid";
    options.objective.time_sampler.grid_points = a.steps_out;
  }
  options.validate();
  if (resuming && resumed_run_has_ended(a.out, options)) return;
  std::string model_path = resolve_model_path(a.model);
  if (std::filesystem::weakly_canonical(a.out) == std::filesystem::weakly_canonical(a.model))
    throw Error("--out must be a new run folder, not the model's own " + a.model);
  auto [model, usage, trained_step] = load_trained_model(model_path);
  require_points_model(*model, a.model, cmd->get_name());
  if (model->takes_interval())
    throw Error(a.model + " is a MeanFlow model: it is already a one-step generator; reflow and distill take flows");
  std::optional<FlowPairs> reused;
  at::Tensor contexts;
  if (!a.pairs_file.empty()) {
    if (!a.context.empty()) throw Error("--context draws new pairs: it does not go with --pairs-file, whose pairs keep theirs");
    reused = reuse_pairs(a.pairs_file, *model);
  } else if (model->context_dim() > 0) {
    if (a.context.empty())
      throw Error(a.model + " takes a " + std::to_string(model->context_dim()) +
                  "-D context: give --context C.npy, the contexts to draw pairs for (for example its training contexts)");
    contexts = read_contexts(a.context, "");
    usage.model_context(*model, contexts);  // checked before the run folder is made
  } else if (!a.context.empty()) {
    throw Error(a.model + " takes no context: --context is for models trained with one");
  }
  resolve_training_engine(cmd, options, *model);  // the pairs are drawn on it too
  const bool native = options.engine == "native";
  at::Generator gen = start_run(a.run.seed, a.run.threads, native ? Workload::NativeKernels : Workload::MatrixProducts);
  StopSignals stop;  // from here to the end: a signal between the pairs and training stops at the first step
  RunDirLock lock = resuming ? RunDirLock(a.out) : create_run_dir(cmd, a.out, a.overwrite);
  const std::string pairs_path = a.out + "/" + kPairsFile;
  options.resume = resuming && std::filesystem::exists(a.out + "/" + RunDir::kTrainingState);
  if (!reused && !options.resume)
    std::cerr << "drawing " << a.pairs << " pairs from " << usage.describe_source() << " with the flow of " << a.model
              << (trained_step > 0 ? " (its weights of step " + std::to_string(trained_step) + ")" : "") << "\n";
  // The pairs file grows batch by batch, so a stopped run continues its pairs where they stopped;
  // drawn again, the same starting points leave the generator as an unstopped run left it.
  FlowPairs pairs = reused ? *reused : resumable(cmd, a.out, [&] {
    return make_flow_pairs(*on_engine(model, options.engine, a.run.threads), usage, a.pairs, a.pair_solver, a.pair_batch, gen,
                           contexts, pairs_path);
  });
  save_flow_pairs(pairs_path, pairs);

  ModelUsage next = usage;
  next.path = TrainedPath{options.objective.scheduler, options.objective.poly_exponent, "flow"};
  if (distill) {
    next.sampler = SolverOptions{"euler", a.steps_out};
  } else {
    next.rectification = usage.rectification + 1;
    next.sampler.reset();
  }
  options.model_metadata = next.to_metadata();
  model->train();
  std::string description = std::to_string(pairs.z0.size(0)) + " pairs of " + a.model + " (" + pairs.sampler + ")";
  TrainResult result = resumable(cmd, a.out, [&] {
    return train_into_run_dir(model, FixedPairs(pairs.z0, pairs.z1, description, pairs.context), options, gen, a.out);
  });

  nlohmann::json report = {{"model", a.out + "/" + RunDir::kModel},
                           {"pairs", pairs_path},
                           {"pair_count", pairs.z0.size(0)},
                           {"pair_sampler", pairs.sampler},
                           {"pair_nfe", pairs.nfe},
                           {"final_loss", result.log_losses.back()},
                           {"train_seconds", result.seconds}};
  if (distill)
    report["sampler"] = "euler, " + std::to_string(a.steps_out) + " step" + (a.steps_out > 1 ? "s" : "");
  else
    report["rectification"] = next.rectification;
  const int64_t shown = std::min<int64_t>(2000, pairs.z0.size(0));  // the paths measured: the first pairs'
  Guidance given;
  if (pairs.context.defined()) given.context = pairs.context.slice(0, 0, shown);
  report_path_geometry(report, *result.model, pairs.z0.slice(0, 0, shown), 100, given);
  print_report(report);
}

void add_rectify_command(CLI::App& app, bool distill) {
  auto args = std::make_shared<RectifyArgs>();
  args->options = rectify_defaults();
  args->pair_solver.method = "rk4";
  args->pair_solver.steps = 32;
  CLI::App* cmd =
      distill ? app.add_subcommand("distill", "Distil a flow into a K-step generator (K = 1: one step) on its own pairs")
              : app.add_subcommand("reflow", "Retrain a flow on its own noise/sample pairs: the next rectified flow, "
                                             "with straighter paths");
  cmd->add_option("model", args->model, "The flow: a weights file (.safetensors) or a run folder");
  cmd->add_option("--out", args->out, "Run folder for the new model (config.toml, pairs.safetensors, model.safetensors)");
  cmd->add_flag("--overwrite", args->overwrite, "Replace a model already in the run folder");
  cmd->add_option("--config", args->config, "Read options from a TOML file (the command line wins)")->configurable(false);
  cmd->add_option("--resume", args->resume,
                  "Continue the stopped run in this folder where it stopped, in its pairs or its training (its "
                  "config.toml gives every option; only --threads may be given too)")
      ->configurable(false);
  if (distill) cmd->add_option("--steps-out", args->steps_out, "Euler steps of the distilled generator (1 = one step)");
  auto* pairs = cmd->add_option_group("Pairs");
  pairs->add_option("--pairs", args->pairs, "Starting points to integrate into pairs")->capture_default_str();
  pairs->add_option("--pairs-file", args->pairs_file,
                    "Reuse the pairs stored by an earlier run (its pairs.safetensors) instead of drawing new ones");
  pairs->add_option("--context", args->context,
                    "Context models: a .npy/.csv of contexts to draw the pairs given (pair i given row i mod M), "
                    "for example the training contexts");
  pairs->add_option("--pair-solver", args->pair_solver.method, "Solver that makes the pairs: " + join_names(solver_names()))
      ->capture_default_str();
  pairs->add_option("--pair-steps", args->pair_solver.steps, "Its steps (fixed-grid solvers)")->capture_default_str();
  pairs->add_option("--pair-time-grid", args->pair_solver.time_grid, "Where its steps fall (fixed-grid solvers; as sample's --time-grid)")
      ->capture_default_str();
  pairs->add_option("--pair-atol", args->pair_solver.atol, "Its absolute tolerance (dopri5)")->capture_default_str();
  pairs->add_option("--pair-rtol", args->pair_solver.rtol, "Its relative tolerance (dopri5)")->capture_default_str();
  pairs->add_option("--pair-batch", args->pair_batch, "Points integrated together")->capture_default_str();
  add_optimisation_options(cmd, args->options);
  add_run_options(cmd, args->run);
  cmd->callback([args, cmd, distill] { run_rectify(*args, cmd, distill); });
}
}  // namespace

void add_reflow_command(CLI::App& app) { add_rectify_command(app, false); }
void add_distill_command(CLI::App& app) { add_rectify_command(app, true); }

}  // namespace flowmatch::cli
