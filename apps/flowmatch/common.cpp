#include "common.h"

#include <torch/torch.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <thread>

#include "flowmatch/core/error.h"
#include "flowmatch/core/file_name.h"
#include "flowmatch/core/memory_budget.h"
#include "flowmatch/core/nearest_name.h"
#include "flowmatch/core/progress.h"
#include "flowmatch/core/registry.h"
#include "flowmatch/core/threads.h"
#include "flowmatch/data/image_set.h"
#include "flowmatch/data/token_data.h"
#include "flowmatch/dist/local_launcher.h"
#include "flowmatch/dist/seed_streams.h"
#include "flowmatch/dist/world_info.h"
#include "flowmatch/io/atomic_file.h"
#include "flowmatch/io/npy.h"
#include "flowmatch/io/points_file.h"
#include "flowmatch/metrics/straightness.h"
#include "flowmatch/model/model_registry.h"
#include "flowmatch/model/module_weights.h"
#include "flowmatch/objective/coupling.h"
#include "flowmatch/objective/objective_registry.h"
#include "flowmatch/objective/scheduler.h"
#include "flowmatch/ode/sampling.h"
#include "flowmatch/ode/stochastic_sampler.h"
#include "flowmatch/ode/time_grid.h"
#include "flowmatch/train/model_usage.h"
#include "flowmatch/train/run_dir.h"
#include "flowmatch/train/trainer.h"
#include "flowmatch/train/training_run.h"
#include "flowmatch/train/training_state.h"

namespace flowmatch::cli {

void add_run_options(CLI::App* cmd, RunSettings& settings) {
  cmd->add_option("--seed", settings.seed, "Random seed; the same seed, inputs and thread count give the same bytes")
      ->capture_default_str();
  cmd->add_option("--threads", settings.threads, "Compute threads (0 = one per core)")->capture_default_str()
      ->check(CLI::Range(0, 4096));
}

void add_engine_option(CLI::App* cmd, std::string& engine) {
  cmd->add_option("--engine", engine,
                  "native (hand-written kernels for seed-mlp and mlp; Winograd convolutions for the unet), torch (LibTorch), "
                  "or auto (native where it runs)")
      ->capture_default_str()->check(CLI::IsMember({"auto", "native", "torch"}));
}

void add_solver_options(CLI::App* cmd, SolverOptions& options, bool adaptive) {
  cmd->add_option("--solver", options.method,
                  "Sampler: " + join_names(sampler_names()) + " (dopri5 adapts its steps; jump is for MeanFlow models; "
                  "default: the one the model was trained for)")
      ->capture_default_str();
  cmd->add_option("--steps", options.steps, "Steps of a fixed-grid solver")->capture_default_str();
  cmd->add_option("--time-grid", options.time_grid,
                  "Where a fixed-grid solver's steps fall: " + join_names(time_grid_names()) +
                      " (shift:S > 1 puts more steps near the noise, edm:RHO > 1 near the data, cosine at both ends; docs/sampling.md)")
      ->capture_default_str();
  if (!adaptive) return;
  cmd->add_option("--atol", options.atol, "Absolute tolerance of dopri5")->capture_default_str();
  cmd->add_option("--rtol", options.rtol, "Relative tolerance of dopri5")->capture_default_str();
}

void add_stochastic_option(CLI::App* cmd, SolverOptions& options) {
  cmd->add_option("--noise-scale", options.noise_scale,
                  "Sample the SDE with the ODE's marginals, diffusion g(t)^2 = 2 G sigma_t (0: the ODE; fixed-grid solvers, "
                  "flows from N(0, I); docs/sampling.md)")
      ->capture_default_str();
}

void refuse_unused_solver_options(CLI::App* cmd, const SolverOptions& solver, const std::string& prefix) {
  const bool adaptive = solver.method == "dopri5";
  if (adaptive && cmd->count("--" + prefix + "time-grid") && solver.time_grid != "uniform")
    throw Error("--" + prefix + "time-grid is for fixed-grid solvers; dopri5 places its own steps");
  if (adaptive && cmd->count("--" + prefix + "steps"))
    throw Error("--" + prefix + "steps is for fixed-grid solvers; dopri5 picks its own steps (set --" + prefix +
                "atol and --" + prefix + "rtol instead)");
  for (const std::string tolerance : {"atol", "rtol"})
    if (!adaptive && cmd->count("--" + prefix + tolerance))
      throw Error("--" + prefix + tolerance + " is for dopri5; " + solver.method + " takes --" + prefix + "steps");
}

void require_file_type(const std::string& path, const std::string& option, const std::string& extension) {
  if (path.size() < extension.size() || path.compare(path.size() - extension.size(), extension.size(), extension) != 0)
    throw Error(option + " must name a " + extension + " file, got " + path);
}

void require_points_model(const VelocityModel& model, const std::string& name, const std::string& use) {
  if (model.sample_shape().size() > 1)
    throw Error(use + " is for points models; " + name +
                " is an image model (draw from it with flowmatch sample, score its samples with flowmatch fd)");
}

void add_overwrite_flag(CLI::App* cmd, bool& overwrite) {
  cmd->add_flag("--overwrite", overwrite, "Replace output files that exist (without it they are refused)");
}

void add_density_options(CLI::App* cmd, DensityArgs& args) {
  LikelihoodOptions& o = args.options;
  cmd->add_option("--divergence", o.divergence, "div v: exact (D backward passes) or hutchinson (one per probe)")
      ->capture_default_str();
  cmd->add_option("--probes", o.probes, "Hutchinson probes per point, drawn once per point")->capture_default_str();
  cmd->add_option("--probe", o.probe, "Hutchinson probe distribution: rademacher or gaussian")->capture_default_str();
  cmd->add_flag("--float64", args.float64, "Run the model and the solver in float64");
}

void add_objective_options(CLI::App* cmd, TrainOptions& o) {
  auto* objective = cmd->add_option_group("Objective");
  objective->add_option("--objective", o.objective.name,
                        join_names(objective_names()) +
                            " (flow-matching: v regresses x1 - x0; meanflow: a one-step model of average velocities; "
                            "discrete-flow-matching, for token data and chosen by it: p(x1 | x_t) by cross entropy)")
      ->capture_default_str();
  objective->add_option("--interval-fraction", o.objective.interval_fraction, "meanflow: share of training rows with s < t")
      ->capture_default_str();
  objective->add_option("--scheduler", o.objective.scheduler, "Path scheduler: " + join_names(scheduler_names()))->capture_default_str();
  objective->add_option("--poly-exponent", o.objective.poly_exponent, "Exponent n of the poly scheduler (alpha = t^n)")
      ->capture_default_str();
  objective->add_option("--time-sampler", o.objective.time_sampler.name, "Training times: uniform or logit-normal")->capture_default_str();
  objective->add_option("--logit-mean", o.objective.time_sampler.mean, "Mean of the logit-normal time sampler")->capture_default_str();
  objective->add_option("--logit-std", o.objective.time_sampler.std, "Std of the logit-normal time sampler")->capture_default_str();
}

void add_optimisation_options(CLI::App* cmd, TrainOptions& o) {
  auto* optim = cmd->add_option_group("Optimisation");
  optim->add_option("--steps", o.steps, "Training steps (train on images: 6000 unless given)")->capture_default_str();
  optim->add_option("--batch", o.batch, "Batch size (train on images: 64 unless given)")->capture_default_str();
  optim->add_option("--lr", o.lr.peak, "Peak learning rate (AdamW; train on images: 1e-3 unless given)")->capture_default_str();
  optim->add_option("--warmup", o.lr.warmup, "Linear warm-up steps")->capture_default_str();
  optim->add_option("--lr-schedule", o.lr.shape, "After warm-up: cosine or constant")->capture_default_str();
  optim->add_option("--min-lr-ratio", o.lr.min_ratio, "Cosine decay ends at this fraction of --lr")->capture_default_str();
  optim->add_option("--weight-decay", o.weight_decay, "AdamW weight decay")->capture_default_str();
  optim->add_option("--beta1", o.beta1, "AdamW beta1")->capture_default_str();
  optim->add_option("--beta2", o.beta2, "AdamW beta2")->capture_default_str();
  optim->add_option("--grad-clip", o.grad_clip, "Clip the global gradient norm to this (0 = off)")->capture_default_str();
  optim->add_option("--ema", o.ema, "EMA decay of the weights kept for sampling (0 = off)")->capture_default_str();
  add_engine_option(optim, o.engine);
  auto* logging = cmd->add_option_group("Logging");
  logging->add_option("--log-every", o.log_every, "Steps between metrics.jsonl lines")->capture_default_str();
  logging->add_option("--checkpoint-every", o.checkpoint_every,
                      "Save the weights and the training state (for --resume) every N steps (0 = only at the end)")
      ->capture_default_str();
}

namespace {
void add_evaluation_options(CLI::App* cmd, TrainArgs& a) {
  EvaluationOptions& o = a.eval.options;
  auto* eval = cmd->add_option_group("Evaluation");
  eval->add_option("--eval-every", o.every,
                   "Score samples of the weights being trained (EMA) every N steps and at the end, into metrics.jsonl "
                   "(a multiple of --log-every; 0 = never; docs/observability.md)")
      ->capture_default_str();
  eval->add_option("--eval-n", o.n, "Samples per evaluation (0 = 2000 points or 500 images)")->capture_default_str();
  eval->add_option("--eval-solver", a.eval.solver, "How they are drawn: " + join_names(sampler_names()) +
                                                       " (default: as sample draws points; midpoint for images)");
  eval->add_option("--eval-steps", a.eval.steps, "Steps of --eval-solver (0 = its own; 10 for images)")->capture_default_str();
  eval->add_option("--keep-best", o.keep_best,
                   "Keep the weights that score best on this measure as best.safetensors: energy_distance, sliced_w2, "
                   "on_cell_fraction (checkerboard), nll (D <= 8); fd, class_accuracy (images)");
  eval->add_option("--eval-classifier", o.classifier, "Images: the fd judge's weights (default: fd's cached one)");
  eval->add_flag("--tensorboard", a.options.tensorboard,
                 "Also write a TensorBoard event file into the run folder: every metrics.jsonl number, and the samples' "
                 "picture at each evaluation");
}
}  // namespace

void add_train_options(CLI::App* cmd, TrainArgs& a) {
  cmd->add_option("--config", a.config, "Read options from a TOML file (keys are the long option names; the command line wins)")
      ->configurable(false);
  cmd->add_option("--resume", a.resume,
                  "Continue the stopped run in this folder exactly where its training state left it (its config.toml "
                  "gives every option; only --threads, --nproc and --dist-timeout may be given too)")
      ->configurable(false);
  cmd->add_option("--data", a.training.data, "A built-in distribution (checkerboard, 8gaussians, moons, circles, spirals, "
                                    "swissroll, gaussian), a .npy/.csv file of points [N, D], images (fashion-mnist, "
                                    "a folder of PNG/JPEG pictures whose sub-folders are classes, or an IDX file), or "
                                    "tokens (discrete-checkerboard, a .txt file of lines, a .npy of int64 tokens [N, L])");
  auto* images = cmd->add_option_group("Images");
  images->add_option("--labels", a.training.labels, "IDX labels for IDX images given to --data");
  images->add_option("--image-size", a.training.image_size, "Picture folders: scale and centre-crop to this square size")
      ->capture_default_str()->check(CLI::Range(4, 1024));
  images->add_option("--channels", a.training.channels, "Picture folders: 1 (gray), 3 (RGB) or 0 (RGB if any picture has colour)")
      ->capture_default_str()->check(CLI::IsMember({0, 1, 3}));
  images->add_flag("--flip", a.training.flip, "Flip each training image left-right with probability 1/2");
  images->add_flag("--unconditional", a.training.unconditional, "Ignore the images' class labels");
  images->add_option("--label-dropout", a.options.label_dropout,
                     "Share of labels dropped to \"no class\" in training, for classifier-free guidance")
      ->capture_default_str();
  cmd->add_option("--data-n", a.training.data_n, "Draw this many points once from a built-in and train on that fixed set")
      ->capture_default_str();
  cmd->add_option("--source", a.training.source,
                  "Start the flow from this built-in or points file instead of N(0, I) (data-to-data transport); "
                  "tokens: mask (the default) or uniform");
  cmd->add_option("--coupling", a.training.coupling,
                  "Pair each batch's source and data points: " + join_names(coupling_names()) +
                      " (ot: exact minibatch optimal transport)")
      ->capture_default_str();
  auto* context = cmd->add_option_group("Context");
  context->add_option("--context", a.training.context,
                      "Train p(x | c): a .npy/.csv file with one context row c per row of --data (docs/conditional.md)");
  context->add_option("--context-columns", a.training.context_columns,
                      "Train p(x | c) with columns A:B of --data (A .. B-1, counted from 0) as c and the others as x");
  context->add_option("--context-dropout", a.options.context_dropout,
                      "Share of rows trained without their context, so that sample --cfg can guide")
      ->capture_default_str();
  context->add_option("--context-mode", a.net.context_mode, "mlp: how the context enters the network, film or add")
      ->capture_default_str();
  context->add_option("--validation", a.training.validation,
                      "Share of the rows held out; the weights with the best held-out loss are kept")
      ->capture_default_str();
  context->add_option("--patience", a.options.patience,
                      "Stop when the held-out loss has not improved for this many log lines")
      ->capture_default_str();
  cmd->add_flag("--standardize", a.training.standardize,
                "Points files: z-score x for training (sampling and likelihoods undo it); on by default with a "
                "context, where --standardize=false keeps x as given");
  // A flag that is off by default: config.toml records it as false, which reads back as off. (A flag
  // on by default is recorded as false too, so --resume and reruns would turn it off.)
  context->add_flag("--raw-context", a.training.raw_context,
                    "Keep the context as given (by default it is z-scored, the statistics stored in the weights)");
  auto* tokens = cmd->add_option_group("Tokens");
  tokens->add_option("--max-length", a.training.max_length,
                     "Text: the sequence length in characters (0 = the longest line's, plus its end)")
      ->capture_default_str();
  tokens->add_flag("--truncate", a.training.truncate, "Text: cut lines longer than --max-length instead of refusing them");
  tokens->add_option("--vocabulary", a.training.vocabulary, "A .npy of tokens: the vocabulary size (0 = the largest token + 1)")
      ->capture_default_str();
  tokens->add_option("--bins", a.training.bins, "discrete-checkerboard: bins per coordinate, the vocabulary (a multiple of 4)")
      ->capture_default_str();
  cmd->add_option("--out", a.out, "Run folder to write (config.toml, metrics.jsonl, model.safetensors, loss.png)");
  cmd->add_flag("--overwrite", a.overwrite, "Replace a model already in the run folder");
  add_model_options(cmd, a.net);
  add_objective_options(cmd, a.options);
  add_optimisation_options(cmd, a.options);
  add_evaluation_options(cmd, a);
  auto* job = cmd->add_option_group("Processes");
  job->add_option("--nproc", a.nproc,
                  "Train as N processes on this machine (under torchrun, srun or mpirun, the launcher's environment "
                  "sets the processes instead; docs/distributed.md)")
      ->capture_default_str()->check(CLI::Range(1, 1024))->configurable(false);
  job->add_option("--shards", a.options.shards,
                  "Draw each batch as this many shards, each from its own seed stream, split among the processes "
                  "(0 = one per process); the same shards give the same run on any number of processes")
      ->capture_default_str();
  job->add_option("--dist-timeout", a.dist_timeout,
                  "Seconds a process waits for the others (rendezvous, every all-reduce) before it stops with an error")
      ->capture_default_str()->check(CLI::Range(1.0, 86400.0))->configurable(false);
  add_run_options(cmd, a.run);
}

void add_model_options(CLI::App* cmd, ModelArgs& a) {
  auto* model = cmd->add_option_group("Model");
  model->add_option("--model", a.name,
                    "Velocity network: " + join_names(model_names()) +
                        " (default: mlp for points, unet for images, token-mlp for sequences of up to 32 tokens, transformer beyond)");
  model->add_option("--width", a.width, "Hidden width (0 = the model's default)");
  model->add_option("--widths", a.widths, "unet: channels per resolution level, e.g. 32,64,64 (the default)")->delimiter(',');
  model->add_option("--depth", a.depth, "Residual blocks of mlp, layers of seed-mlp and token-mlp, residual blocks per "
                                        "level of unet, blocks of transformer (0 = the model's default)");
  model->add_option("--groups", a.groups, "unet: GroupNorm groups, dividing every width (0 = the model's default)");
  model->add_option("--heads", a.heads, "transformer: attention heads, dividing the width (0 = the model's default)");
  model->add_option("--activation", a.activation, "mlp activation: silu, relu or gelu (empty = the model's default)");
  model->add_option("--time-dim", a.time_dim, "Size of the sinusoidal time embedding (0 = the model's default)");
  model->add_option("--time-scale", a.time_scale, "mlp: the time embedding sees t times this (0 = the model's default)");
  model->add_option("--fourier-features", a.fourier_features, "mlp: random Fourier features of x (-1 = the model's default, 0 = none)");
  model->add_option("--fourier-scale", a.fourier_scale, "mlp: std of the Fourier frequencies (0 = the model's default)");
  model->add_option("--linear-term", a.linear_term,
                    "mlp: add A(t) [x, c] to the velocity, a matrix learned as a function of t (auto: with a context, "
                    "where D (D + C) <= 256; docs/conditional.md)")
      ->capture_default_str()->check(CLI::IsMember({"auto", "true", "false"}));
}

nlohmann::json ModelArgs::config(const std::vector<int64_t>& shape, int64_t classes, int64_t context_dim, bool interval,
                                 int64_t vocabulary) const {
  nlohmann::json c = {{"name", name}};
  if (vocabulary > 0) {
    c["length"] = shape.at(0);
    c["vocabulary"] = vocabulary;
  } else if (shape.size() == 3) {
    c["image_shape"] = shape;
    c["classes"] = classes;
  } else {
    c["data_dim"] = shape.at(0);
  }
  if (!widths.empty()) c["widths"] = widths;
  if (groups != 0) c["groups"] = groups;
  if (heads != 0) c["heads"] = heads;
  if (width != 0) c["width"] = width;
  if (depth != 0) c["depth"] = depth;
  if (time_dim != 0) c["time_dim"] = time_dim;
  if (!activation.empty()) c["activation"] = activation;
  if (time_scale != 0) c["time_scale"] = time_scale;
  if (fourier_features >= 0) c["fourier_features"] = fourier_features;
  if (fourier_scale != 0) c["fourier_scale"] = fourier_scale;
  if (interval) c["interval"] = true;
  if (context_dim > 0) {
    c["context_dim"] = context_dim;
    if (name == "mlp") c["context_mode"] = context_mode;
  }
  // The linear term by default where it pays (docs/conditional.md): a context flow whose A(t) has at
  // most 256 entries, which costs about one residual block of the default context width.
  const int64_t dim = shape.size() == 1 ? shape[0] : 0;
  const bool small = dim > 0 && dim * (dim + context_dim) <= 256;
  if (linear_term == "true" && name != "mlp") throw Error("--linear-term is an mlp option, not " + name + "'s");
  if (linear_term == "true" || (linear_term == "auto" && name == "mlp" && context_dim > 0 && !interval && small))
    c["linear_term"] = true;
  return c;
}

std::vector<std::string>& command_line() {
  static std::vector<std::string> words;
  return words;
}

void run_local_processes(int processes) {
  if (world_from_environment().distributed())
    throw Error("--nproc starts a job of its own; under torchrun, srun or mpirun, give the number of processes there");
  const std::vector<std::string>& words = command_line();
  std::vector<std::string> arguments{words.at(0)};
  for (size_t i = 1; i < words.size(); ++i) {
    if (words[i] == "--nproc") ++i;  // and its value
    else if (words[i].rfind("--nproc=", 0) != 0) arguments.push_back(words[i]);
  }
  // A rank that stops on its own error says why within moments; one stuck longer is killed.
  std::string failure = run_local_job(processes, "/proc/self/exe", arguments, std::chrono::seconds(5));
  if (!failure.empty()) throw Error(failure + "; the job of " + std::to_string(processes) + " processes stopped");
}

std::vector<CLI::Option*> all_options(CLI::App* cmd) {
  std::vector<CLI::Option*> options = cmd->get_options();
  for (CLI::App* group : cmd->get_subcommands([](CLI::App* sub) { return sub->get_name().empty(); }))
    for (CLI::Option* opt : group->get_options()) options.push_back(opt);
  return options;
}

void refuse_options_except(CLI::App* cmd, const std::vector<std::string>& allowed, const std::string& what) {
  for (const CLI::Option* opt : all_options(cmd))
    if (opt->count() > 0 && !opt->get_name().empty() && opt->get_name().rfind("--", 0) == 0 &&
        std::find(allowed.begin(), allowed.end(), opt->get_name()) == allowed.end())
      throw Error(opt->get_name() + " is not for " + what + "; it takes " + join_names(allowed));
}

std::vector<std::string> long_option_names(CLI::App* cmd, const std::string& prefix, bool configurable_only) {
  std::vector<std::string> names;
  for (const CLI::Option* opt : all_options(cmd))
    if (opt->get_configurable() || !configurable_only)
      for (const std::string& name : opt->get_lnames()) names.push_back(prefix + name);
  return names;
}

// CLI11 reads config files for the top-level app only, so a subcommand's --config is applied here.
void apply_config_file(CLI::App* cmd, const std::string& path) {
  std::vector<CLI::ConfigItem> items;
  try {
    items = CLI::ConfigTOML().from_file(path);
  } catch (const CLI::Error& e) {
    throw Error("cannot read config " + path + ": " + e.what());
  }
  for (const auto& item : items) {
    if (item.name == "++" || item.name == "--") continue;  // section markers
    if (item.inputs.size() == 1 && item.inputs[0].empty()) continue;  // written for an unset option: keep its default
    CLI::Option* opt = cmd->get_option_no_throw("--" + item.name);
    if (!opt) opt = cmd->get_option_no_throw(item.name);  // a positional argument (reflow's model)
    if (!opt || !opt->get_configurable())
      throw Error(path + ": unknown option '" + item.fullname() + "'" +
                  did_you_mean(item.fullname(), long_option_names(cmd, "", true)));
    if (opt->count() > 0) continue;
    opt->add_result(item.inputs);
    opt->run_callback();
  }
}

namespace {

// The model config from the options and the data; an objective of intervals adds the interval input.
nlohmann::json model_config(const TrainArgs& a, const TrainingSet& set, const Objective& objective) {
  const TrainingPairs& pairs = *set.pairs;
  std::vector<int64_t> shape = pairs.sample_shape();
  const bool token_model = a.net.name == "token-mlp" || a.net.name == "transformer";
  if (set.vocabulary > 0 && !token_model)
    throw Error("--model " + a.net.name + " is for points or images; " + a.training.data + " holds tokens (token-mlp, transformer)");
  if (set.vocabulary > 0) return a.net.config(shape, 0, 0, false, set.vocabulary);
  if (token_model) throw Error("--model " + a.net.name + " is for token data; " + a.training.data + " is not");
  if (a.net.name == "unet" && shape.size() != 3) throw Error("--model unet is for images; " + a.training.data + " holds points");
  if (a.net.name != "unet" && shape.size() != 1) throw Error("--model " + a.net.name + " is for points; images need --model unet");
  if (pairs.context_dim() > 0 && a.net.name == "unet") throw Error("--context is for points models (mlp, seed-mlp)");
  return a.net.config(shape, a.training.unconditional ? 0 : pairs.classes(), pairs.context_dim(), objective.needs_interval());
}

// Records the resolved model options on the command, so config.toml shows what was built.
void record_resolved_model(CLI::App* cmd, const nlohmann::json& config) {
  for (const auto& [key, value] : config.items()) {
    std::string flag = "--" + (key == "name" ? std::string("model") : key);
    for (auto& ch : flag)
      if (ch == '_') ch = '-';
    CLI::Option* opt = cmd->get_option_no_throw(flag);
    if (!opt) continue;
    opt->clear();
    if (value.is_array())
      for (const auto& item : value) opt->add_result(item.dump());
    else
      opt->add_result(value.is_string() ? value.get<std::string>() : value.dump());
  }
}

// Records a value the command chose itself on `cmd`, so that config.toml says what ran and --resume runs it again.
void record_option(CLI::App* cmd, const std::string& name, const std::string& value) {
  CLI::Option* opt = cmd->get_option(name);
  opt->clear();
  opt->add_result(value);
}
}  // namespace

void resolve_training_engine(CLI::App* cmd, TrainOptions& options, const VelocityModel& model) {
  options.engine = training_engine(model, options);
  record_option(cmd, "--engine", options.engine);
}

void apply_resumed_run(CLI::App* cmd, const std::string& run_dir, const std::string& state, const std::string& saved_when) {
  std::vector<std::string> allowed;  // how the work runs, not what it computes
  for (const char* name : {"--threads", "--nproc", "--dist-timeout"})
    if (cmd->get_option_no_throw(name)) allowed.push_back(name);
  for (const CLI::Option* opt : all_options(cmd))
    if (opt->count() > 0 && opt->get_name() != "--resume" &&
        std::find(allowed.begin(), allowed.end(), opt->get_name()) == allowed.end())
      throw Error("--resume takes every option from " + run_dir + "/" + RunDir::kConfig + "; only " + join_names(allowed) +
                  " may be given with it, not " + opt->get_name());
  std::ifstream config(run_dir + "/" + RunDir::kConfig);
  std::string header, written_by;
  std::getline(config, header);  // "# flowmatch reflow: resolved options; ..."
  std::istringstream(header) >> written_by >> written_by >> written_by;
  if (!written_by.empty() && written_by.back() == ':') written_by.pop_back();
  if (!written_by.empty() && written_by != cmd->get_name())
    throw Error(run_dir + " is a run of flowmatch " + written_by + ": continue it with flowmatch " + written_by +
                " --resume " + run_dir);
  if (!std::filesystem::exists(run_dir + "/" + state))
    throw Error(run_dir + " has no " + state + " to resume from (" + saved_when + ")");
  apply_config_file(cmd, run_dir + "/" + RunDir::kConfig);
}

// Sets each option that neither the command line nor the config file set.
void apply_defaults(CLI::App* cmd, std::initializer_list<std::pair<const char*, const char*>> defaults) {
  for (auto [name, value] : defaults) {
    CLI::Option* opt = cmd->get_option(name);
    if (opt->count() > 0) continue;
    opt->add_result(value);
    opt->run_callback();
  }
}

namespace {
// The evaluation --eval-every asks for (its judge loaded, or trained the first time), or null.
std::shared_ptr<const SampleEvaluation> make_evaluation(const TrainArgs& a, const TrainingPairs& pairs,
                                                        const VelocityModel& model, const ModelUsage& usage) {
  EvaluationOptions options = a.eval.options;
  if (options.every == 0) {
    if (!options.keep_best.empty() || options.n != 0 || !a.eval.solver.empty() || a.eval.steps != 0 || !options.classifier.empty())
      throw Error("--keep-best, --eval-n, --eval-solver, --eval-steps and --eval-classifier need --eval-every");
    return nullptr;
  }
  if (a.eval.steps < 0) throw Error("--eval-steps must be positive");
  if (!a.eval.solver.empty() || a.eval.steps > 0) {
    options.solver = SolverOptions{a.eval.solver.empty() ? "rk4" : a.eval.solver};
    if (a.eval.steps > 0) options.solver->steps = a.eval.steps;
    else if (model.sample_shape().size() > 1) options.solver->steps = 10;
  }
  options.seed = a.run.seed;
  std::cerr << "evaluating every " << options.every << " steps on " << pairs.describe() << "\n";
  return std::make_shared<SampleEvaluation>(a.training, model, usage, options);
}
}  // namespace

TrainingRun run_training(const TrainArgs& given, CLI::App* cmd) {
  bool resuming = !given.resume.empty();
  if (resuming)
    apply_resumed_run(cmd, given.resume, RunDir::kTrainingState, "runs save it every --checkpoint-every steps");
  else if (!given.config.empty())
    apply_config_file(cmd, given.config);
  // Images: the CPU recipe of docs/images.md (6000 steps of 64 at lr 1e-3: under 30 minutes on 2 cores).
  if (!resuming && is_image_source(given.training.data)) apply_defaults(cmd, {{"--steps", "6000"}, {"--batch", "64"}, {"--lr", "1e-3"}});
  // A context: a fixed, often small set (10^3 .. 10^5 simulations), so at most 10 000 steps of 256,
  // stopped early on the held-out loss, with a width-128 mlp; x is z-scored, and the mlp's Fourier
  // frequencies are low (std 0.1 per std of x), which keeps a small set from being memorised
  // (docs/conditional.md has the measurements).
  if (!resuming && given.training.has_context()) {
    apply_defaults(cmd, {{"--steps", "10000"}, {"--batch", "256"}, {"--width", "128"}, {"--standardize", "true"}});
    if (given.net.name.empty() || given.net.name == "mlp") apply_defaults(cmd, {{"--fourier-scale", "0.1"}});
  }
  TrainArgs a = given;  // now with the config file's options
  if (resuming) {
    a.out = given.resume;
    a.options.resume = true;
  }
  if (a.training.data.empty()) throw Error("--data is required: a built-in distribution name or a .npy/.csv file");
  if (a.out.empty()) throw Error("--out is required: the run folder to write");
  a.options.validate();
  bool images = is_image_source(a.training.data);
  const bool tokens = is_token_source(a.training.data);
  if (tokens && !cmd->count("--objective")) {  // chosen by the data
    a.options.objective.name = "discrete-flow-matching";
    record_option(cmd, "--objective", a.options.objective.name);
  }
  if (tokens != (a.options.objective.name == "discrete-flow-matching"))
    throw Error(tokens ? "--objective " + a.options.objective.name + " is for points and images; " + a.training.data +
                             " holds tokens, which train with discrete-flow-matching"
                       : "--objective discrete-flow-matching is for token data (discrete-checkerboard, a .txt file, a .npy of "
                         "int64 tokens); " + a.training.data + " is not");
  if (a.net.name.empty() && !tokens) a.net.name = images ? "unet" : "mlp";
  std::unique_ptr<Objective> objective = make_objective(a.options.objective);
  if (objective->needs_interval() && a.net.name != "mlp")
    throw Error("--objective " + a.options.objective.name + " needs --model mlp (it adds the interval input " +
                a.options.objective.name + " needs)");
  WorldInfo world = world_from_environment();
  if (resuming && resumed_run_has_ended(a.out, a.options, world.rank)) return {};
  if (!resuming) shard_count(a.options.shards, 0, world.world_size, a.options.batch);  // before anything is written
  RunSettings run = a.run;  // the processes on one machine share its cores
  if (run.threads == 0) run.threads = std::max(1, int(std::thread::hardware_concurrency()) / world.local_world_size);
  at::Generator gen = start_run(run.seed, run.threads, images ? Workload::Convolutions : Workload::MatrixProducts);
  TrainingSet set = make_training_pairs(a.training, gen);
  const TrainingPairs& pairs = *set.pairs;
  // Tokens: an MLP over the embedded tokens up to 32 of them (on CPUs it trains words several times
  // faster than the transformer, and better in the same time: docs/discrete.md), a transformer beyond.
  if (a.net.name.empty()) a.net.name = pairs.sample_shape()[0] <= 32 ? "token-mlp" : "transformer";
  nlohmann::json model_json = model_config(a, set, *objective);
  const double values = model_value_count(model_json);  // before building it: 5 copies to train it
  require_memory(4.0 * 5 * values, "training this " + model_json.value("name", std::string()) + " (about " +
                                       std::to_string(int64_t(values)) + " parameters)");
  auto model = make_model(model_json);
  nlohmann::json config = model->config();
  require_memory(training_memory_bytes(*model, a.options.batch),
                 "training this " + config.value("name", std::string()) + " (" + std::to_string(parameter_count(*model)) +
                     " parameters) at batch " + std::to_string(a.options.batch));
  ModelUsage usage;
  usage.source = tokens && a.training.source.empty() ? "mask" : a.training.source;
  usage.characters = set.characters;
  if (model->classes() > 0) usage.class_names = set.class_names;
  usage.data_scaling = set.data_scaling;
  usage.context_scaling = set.context_scaling;
  usage.context_reach = set.context_reach;
  usage.sampler = objective->sampler();
  usage.path = TrainedPath{a.options.objective.scheduler, a.options.objective.poly_exponent, a.training.coupling};
  TrainOptions options = a.options;
  options.model_metadata = usage.to_metadata();
  options.evaluation = make_evaluation(a, pairs, *model, usage);
  options.validate();  // with the evaluation: its --eval-every against --log-every
  resolve_training_engine(cmd, options, *model);
  if (options.engine == "native") set_compute_threads(run.threads, Workload::NativeKernels);
  std::shared_ptr<RunDirLock> lock;
  if (world.rank == 0) {
    if (!resuming) record_resolved_model(cmd, config);
    lock = std::make_shared<RunDirLock>(resuming ? RunDirLock(a.out) : create_run_dir(cmd, a.out, a.overwrite));
  }
  return resumable(cmd, a.out, [&]() -> TrainingRun {
    if (!world.distributed()) return {train_into_run_dir(model, pairs, options, gen, a.out), usage, lock};
    auto group = ProcessGroup::join(world, std::chrono::milliseconds(int64_t(a.dist_timeout * 1000)));
    if (world.rank != 0) {
      train_flow(model, pairs, options, gen, a.out, group.get());
      return {};
    }
    return {train_into_run_dir(model, pairs, options, gen, a.out, group.get()), usage, lock};
  });
}

bool resumed_run_has_ended(const std::string& run_dir, const TrainOptions& options, int rank) {
  const std::string state = run_dir + "/" + RunDir::kTrainingState;
  if (!std::filesystem::exists(state)) return false;  // stopped before training began
  TrainingProgress saved = read_training_progress(state);
  bool stopped_early = saved.best_step > 0 && saved.lines_since_best >= options.patience;
  if (saved.step < options.steps && !stopped_early) return false;
  if (rank == 0)
    std::cerr << "note: " << run_dir << " finished at step " << saved.step
              << (stopped_early ? " (stopped early: its held-out loss had stopped improving)"
                                : " of " + std::to_string(options.steps))
              << "; nothing to resume, and its files are left as they are\n";
  return true;
}

RunDirLock create_run_dir(CLI::App* cmd, const std::string& out, bool overwrite) {
  RunDirLock lock = RunDir::create(out, overwrite);
  write_file_atomically(out + "/" + RunDir::kConfig, "# flowmatch " + cmd->get_name() +
                                                         ": resolved options; rerun with flowmatch " + cmd->get_name() +
                                                         " --config " + out + "/" + RunDir::kConfig +
                                                         " --out NEW_RUN_DIR\n" +
                                                         cmd->config_to_str(true, false));
  return lock;
}

void report_path_geometry(nlohmann::json& report, VelocityModel& model, const at::Tensor& start, int64_t steps,
                          const Guidance& given) {
  PathGeometry geometry = path_geometry(model, start, steps, given);
  report["straightness"] = geometry.straightness;
  report["curvature"] = geometry.curvature;
}

at::Tensor contexts_per_row(const VelocityModel& model, const ModelUsage& usage, const std::string& file, int64_t rows,
                            const std::string& name, const std::string& use, bool grouped) {
  if (model.context_dim() == 0) {
    if (!file.empty()) throw Error("--context needs a model trained with one (train --context); " + name + " takes none");
    return {};
  }
  if (file.empty()) throw Error("this model's " + use + " needs a context: give one context row per data row with --context FILE");
  at::Tensor context = usage.model_context(model, read_points(file));
  if (grouped) {
    const int64_t contexts = context.size(0);
    if (rows % contexts != 0)
      throw Error("--grouped: the data's " + std::to_string(rows) + " rows do not split into " + std::to_string(contexts) +
                  " equal blocks, one per row of " + file);
    return context.repeat_interleave(rows / contexts, 0);  // row i is given context i / (rows / M)
  }
  if (context.size(0) != rows)
    throw Error("the data has " + std::to_string(rows) + " rows but the context " + file + " has " + std::to_string(context.size(0)));
  return context;
}

int64_t class_index(const std::string& given, const VelocityModel& model, const ModelUsage& usage) {
  if (model.classes() == 0) throw Error("--class needs a class-conditional model; this one is unconditional");
  for (size_t k = 0; k < usage.class_names.size(); ++k)
    if (usage.class_names[k] == given) return int64_t(k);
  char* end = nullptr;
  long long k = std::strtoll(given.c_str(), &end, 10);
  if (given.empty() || *end != '\0' || k < 0 || k >= model.classes()) {
    std::string names;
    for (const auto& name : usage.class_names) names += (names.empty() ? "" : ", ") + name;
    throw Error("unknown class '" + given + "': give 0 .. " + std::to_string(model.classes() - 1) +
                (names.empty() ? "" : " or a name (" + names + ")"));
  }
  return k;
}

at::Tensor labels_of_images(const ImageSet& images, int64_t n, const std::string& class_name, bool cfg_given,
                            const VelocityModel& model, const ModelUsage& usage) {
  if (model.classes() == 0) {
    if (!class_name.empty() || cfg_given) throw Error("--class and --cfg need a class-conditional model; this one is unconditional");
    return {};
  }
  if (!class_name.empty()) return torch::full({n}, class_index(class_name, model, usage), torch::kLong);
  if (images.labelled()) return images.labels.slice(0, 0, n);
  throw Error("a class-conditional model takes each image's class: give --class, or labels with --labels");
}

Solution solve_in_batches(const std::string& what, int64_t total, int64_t batch, const std::string& unit,
                          const std::function<Solution(int64_t first, int64_t end, const SolveProgress& on_progress)>& solve_batch) {
  std::vector<at::Tensor> parts;
  Solution last;
  Progress progress(what, total, batch, "nfe", unit);
  for (int64_t first = 0; first < total; first += batch) {
    const int64_t end = std::min(total, first + batch);
    last = solve_batch(first, end, [&](double along, int64_t nfe) {
      progress.update(first + int64_t(double(end - first) * along), double(nfe));
    });
    parts.push_back(last.x);
    progress.update(end, double(last.nfe));
  }
  progress.finish();
  last.x = torch::cat(parts);
  return last;
}

Solution impute_in_batches(const std::string& what, const std::string& unit, VelocityModel& model, const at::Tensor& data,
                           const at::Tensor& missing, const PathAt& path, const ImputationOptions& options, int64_t batch,
                           at::Generator& gen, const Guidance& guidance) {
  return solve_in_batches(what, data.size(0), batch, unit, [&](int64_t first, int64_t end, const SolveProgress& on_progress) {
    ImputationOptions stepping = options;
    stepping.solver.on_progress = on_progress;
    return impute(model, data.slice(0, first, end), missing.slice(0, first, end), path, stepping, gen, guidance.rows(first, end));
  });
}

void note_restarting_steps(const SolverOptions& solver, const PathAt& path) {
  if (solver.noise_scale <= 0 || !path) return;
  const int64_t restarts = restarting_steps(path, solver.noise_scale, TimeGrid(solver.time_grid).times(solver.steps, 0.0, 1.0));
  if (2 * restarts > solver.steps)
    std::cerr << "note: with --noise-scale " << solver.noise_scale << " and " << solver.steps << " steps, " << restarts
              << " steps start again from fresh noise (the noise a step adds reaches the source's variance), so the last few make "
                 "the result: give more --steps or a smaller --noise-scale\n";
}

void add_corrector_options(CLI::App* cmd, ImputationOptions& options) {
  cmd->add_option("--corrector-steps", options.corrector_steps,
                  "Langevin corrections of the missing entries at each grid time (more: closer to the exact conditional)")
      ->capture_default_str();
  cmd->add_option("--corrector-size", options.corrector_size, "Each correction's step, as a share of sigma_t^2 (0 < e <= 1)")
      ->capture_default_str();
}

ImageSet read_images(const std::string& source, const std::string& labels_path) {
  if (!ends_with(source, ".npy")) {
    if (!is_image_source(source)) throw Error(source + " is neither a .npy of images nor an image set");
    if (!labels_path.empty()) throw Error("--labels goes with a .npy of images; " + source + " brings its own labels");
    return load_image_source(source, "", 28, 1);
  }
  ImageSet set;
  set.images = read_npy(source);
  if (set.images.dim() == 0) throw Error(source + ": expected images [N, C, H, W], got a single number");  // callers check the shape
  if (!torch::isfinite(set.images).all().item<bool>()) throw Error(source + ": the images hold NaN or infinite values");
  std::string labels = labels_path;
  std::string beside = source.substr(0, source.size() - 4) + ".labels.npy";
  if (labels.empty() && std::filesystem::exists(beside)) labels = beside;
  if (!labels.empty()) {
    set.labels = read_npy(labels);
    if (set.labels.scalar_type() != torch::kLong || set.labels.dim() != 1 || set.labels.size(0) != set.size())
      throw Error(labels + ": expected " + std::to_string(set.size()) + " int64 class labels, got " +
                  c10::str(set.labels.sizes()) + " " + std::string(c10::toString(set.labels.scalar_type())));
  }
  return set;
}

void print_report(const nlohmann::json& report) {
  for (const auto& [key, value] : report.items()) std::cout << key << ": " << (value.is_string() ? value.get<std::string>() : value.dump()) << "\n";
}

}  // namespace flowmatch::cli
