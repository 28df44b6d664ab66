#pragma once
// Pieces shared by the subcommands: options that several take, and the training job that both
// `train` and `demo` run.
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <functional>
#include <memory>
#include <optional>
#include <vector>
#include <string>

#include "flowmatch/core/run_start.h"
#include "flowmatch/core/stop_signals.h"
#include "flowmatch/data/image_set.h"
#include "flowmatch/ode/imputation.h"
#include "flowmatch/ode/likelihood.h"
#include "flowmatch/ode/solver.h"
#include "flowmatch/train/model_usage.h"
#include "flowmatch/train/run_dir.h"
#include "flowmatch/objective/training_set.h"
#include "flowmatch/train/trainer.h"
#include "flowmatch/train/training_evaluation.h"

namespace flowmatch::cli {

// --seed and --threads (0 = one per physical core).
struct RunSettings {
  uint64_t seed = 0;
  int threads = 0;
};
void add_run_options(CLI::App* cmd, RunSettings& settings);

// --engine: auto, native or torch (model/engine.h: on_engine).
void add_engine_option(CLI::App* cmd, std::string& engine);

// --solver, --steps, --time-grid, and (unless `adaptive` is false: a command that steps a fixed grid)
// dopri5's --atol, --rtol.
void add_solver_options(CLI::App* cmd, SolverOptions& options, bool adaptive = true);
// --noise-scale: stochastic sampling, for the commands that draw samples.
void add_stochastic_option(CLI::App* cmd, SolverOptions& options);

// Throws Error for solver options that the chosen solver would ignore: --steps for dopri5, which
// picks its own steps, and --atol or --rtol for a fixed-grid solver. `prefix` names a second solver's
// options ("pair-": --pair-steps, ...).
void refuse_unused_solver_options(CLI::App* cmd, const SolverOptions& solver, const std::string& prefix = "");

// Throws "<option> must name a <extension> file" unless `path` ends in `extension` (".npy", ".png").
void require_file_type(const std::string& path, const std::string& option, const std::string& extension);

// Throws "<use> is for points models; <name> is an image model (...)" for an image model, before
// anything is written.
void require_points_model(const VelocityModel& model, const std::string& name, const std::string& use);

// --overwrite of a command that writes files: without it, an output that exists is refused
// (check_writable_destination).
void add_overwrite_flag(CLI::App* cmd, bool& overwrite);

// --divergence, --probes, --probe and --float64: how `likelihood` and `sample --logp` compute
// log-densities (their solver options are added with add_solver_options).
struct DensityArgs {
  LikelihoodOptions options;
  bool float64 = false;
};
void add_density_options(CLI::App* cmd, DensityArgs& args);

// --objective, --interval-fraction, --scheduler and the time sampler (train).
void add_objective_options(CLI::App* cmd, TrainOptions& options);
// The optimiser, logging and checkpoints: the options of every command that trains (train, reflow, distill).
void add_optimisation_options(CLI::App* cmd, TrainOptions& options);

// The network options (--model, --width, ...) of train and convert.
struct ModelArgs {
  std::string name;  // --model
  int64_t width = 0, depth = 0, time_dim = 0, fourier_features = -1, groups = 0, heads = 0;  // 0 / -1: the model's default
  std::vector<int64_t> widths;
  double time_scale = 0, fourier_scale = 0;
  std::string activation;
  std::string context_mode = "add";
  std::string linear_term = "auto";  // auto | true | false
  // The model config (model_registry.h) for samples of `shape` ([D] points or [C, H, W] images),
  // `classes` labels (unet) and contexts of size context_dim (mlp, seed-mlp), with model-specific
  // defaults for what was left unset; `interval` adds MeanFlow's interval input. With a vocabulary V
  // > 0, a token model's config for sequences of length shape[0].
  nlohmann::json config(const std::vector<int64_t>& shape, int64_t classes, int64_t context_dim, bool interval,
                        int64_t vocabulary = 0) const;
};
void add_model_options(CLI::App* cmd, ModelArgs& args);

// Everything `flowmatch train` takes.
// train's --eval-* options: scores of samples while training (training_evaluation.h).
struct EvaluationArgs {
  EvaluationOptions options;
  std::string solver;   // "" = the evaluation's default
  int64_t steps = 0;    // 0 = the solver's default
};

struct TrainArgs {
  std::string config;
  std::string resume;  // a run folder to continue
  TrainingData training;               // --data, --source, --coupling and the image options
  std::string out;
  bool overwrite = false;
  ModelArgs net;                       // net.name "": mlp for points, unet for images
  TrainOptions options;
  EvaluationArgs eval;
  RunSettings run;
  int nproc = 1;              // start this many local processes as one job
  double dist_timeout = 60;   // seconds: the rendezvous and every collective of a multi-process job
};
void add_train_options(CLI::App* cmd, TrainArgs& args);

// Validates everything, loads the data, creates the run folder, writes config.toml (the resolved
// options of `cmd`), trains, and draws loss.png. Prints where things went. In a multi-process job
// (world_info.h), it joins the other ranks first, and only rank 0 writes or prints; the others
// return an empty result, as does `--resume` of a run that has already ended (with a note, touching
// nothing). Returns the trained weights with how they are meant to be used (what
// model.safetensors' metadata says).
struct TrainingRun {
  TrainResult result;
  ModelUsage usage;
  std::shared_ptr<RunDirLock> lock;  // rank 0 holds the run folder until this goes
};
// Resolves options.engine for `model` (trainer.h: training_engine) and records it on `cmd`, so that
// config.toml says which engine trains the run, and --resume trains it on the same one.
void resolve_training_engine(CLI::App* cmd, TrainOptions& options, const VelocityModel& model);

TrainingRun run_training(const TrainArgs& args, CLI::App* cmd);

// Runs `work` (training, drawing pairs) into the run folder `out`; a stop by signal (Stopped) then
// says how to continue: "...; continue with flowmatch CMD --resume OUT".
template <typename Work>
auto resumable(CLI::App* cmd, const std::string& out, Work work) {
  try {
    return work();
  } catch (const Stopped& e) {
    throw Stopped(e.signal(), std::string(e.what()) + "; continue with flowmatch " + cmd->get_name() + " --resume " + out);
  }
}

// The command line this program was started with (main.cpp sets it), for `--nproc` to start copies.
std::vector<std::string>& command_line();
// --nproc N: runs this command line, less --nproc, as N processes of one job; throws Error naming
// the rank that failed.
void run_local_processes(int processes);

// The options of `cmd`, those in its option groups included.
std::vector<CLI::Option*> all_options(CLI::App* cmd);
// Throws Error naming the first option given to `cmd` that is not in `allowed` (long names): "--x
// is not for WHAT; it takes --a, --b".
void refuse_options_except(CLI::App* cmd, const std::vector<std::string>& allowed, const std::string& what);
// The long names of cmd's options, its option groups' included, each after `prefix`; with
// configurable_only, only those a config file may set.
std::vector<std::string> long_option_names(CLI::App* cmd, const std::string& prefix, bool configurable_only = false);

// Applies `cmd`'s --config file, if one was given: every key sets its option unless the command
// line already did.
void apply_config_file(CLI::App* cmd, const std::string& path);
// --resume RUN_DIR: the run's own config.toml sets every option of `cmd`. Throws Error for any other
// option given (but --threads, --nproc and --dist-timeout), as it would change the run, and when
// the folder lacks the `state` file it resumes from (saved as `saved_when` says).
void apply_resumed_run(CLI::App* cmd, const std::string& run_dir, const std::string& state, const std::string& saved_when);
// --resume of a run that has ended (every step of `options` taken, or stopped early on its held-out
// loss): says so on stderr (from rank 0) and returns true, so the caller leaves its files alone.
bool resumed_run_has_ended(const std::string& run_dir, const TrainOptions& options, int rank = 0);
// Creates and locks the run folder and writes config.toml: the resolved options of `cmd`.
RunDirLock create_run_dir(CLI::App* cmd, const std::string& out, bool overwrite);
// Adds "straightness" and "curvature" (straightness.h) of the model's paths from `start` to `report`.
void report_path_geometry(nlohmann::json& report, VelocityModel& model, const at::Tensor& start, int64_t steps = 100,
                          const Guidance& given = {});

// A context model's contexts for `rows` data rows, one per row, read from --context FILE and z-scored as
// the model takes them; undefined for a model without a context. Throws Error, naming the model
// `name` and what the context is for (`use`, e.g. "log p(x | c)"), when a context model gets none,
// a model without one gets one, or the file's rows are not one per data row. `grouped`: the data
// is one block of rows / M consecutive rows per context row (as sample --context writes them), and
// each context row is repeated over its block.
at::Tensor contexts_per_row(const VelocityModel& model, const ModelUsage& usage, const std::string& file, int64_t rows,
                            const std::string& name, const std::string& use, bool grouped = false);

// --class as given: a class index or one of the model's class names. Throws Error for another
// name, or when the model is not class-conditional.
int64_t class_index(const std::string& given, const VelocityModel& model, const ModelUsage& usage);

// The class of each of the first n images for a class-conditional model: --class (class_name) for
// all, else the images' own labels; undefined for an unconditional model. Throws Error when a
// conditional model gets neither, or an unconditional one gets --class or --cfg (cfg_given).
at::Tensor labels_of_images(const ImageSet& images, int64_t n, const std::string& class_name, bool cfg_given,
                            const VelocityModel& model, const ModelUsage& usage);

// Solves rows first .. end - 1 of `total` with `solve_batch`, `batch` rows at a time, under a progress
// line ("invert", in `unit`s, with the NFE) that `solve_batch` moves within the batch by handing
// `on_progress` to its solver, and returns the rows' results in order with the NFE of the last batch.
Solution solve_in_batches(const std::string& what, int64_t total, int64_t batch, const std::string& unit,
                          const std::function<Solution(int64_t first, int64_t end, const SolveProgress& on_progress)>& solve_batch);
// impute (ode/imputation.h) of `data`'s rows `batch` at a time, under solve_in_batches' progress line:
// what impute and inpaint both run.
Solution impute_in_batches(const std::string& what, const std::string& unit, VelocityModel& model, const at::Tensor& data,
                           const at::Tensor& missing, const PathAt& path, const ImputationOptions& options, int64_t batch,
                           at::Generator& gen, const Guidance& guidance);

// A note on stderr when a noise scale is so large for the grid that more than half of its steps
// start again from fresh noise (restarting_steps in ode/stochastic_sampler.h).
void note_restarting_steps(const SolverOptions& solver, const PathAt& path);

// --corrector-steps and --corrector-size of impute and inpaint, with the defaults in `options`.
void add_corrector_options(CLI::App* cmd, ImputationOptions& options);

// Images as the command line names them: a .npy [N, C, H, W] in [-1, 1] (labels from labels_path,
// or FILE.labels.npy beside it when that exists, as sample writes them) or an image set by name
// (data/image_set.h: "fashion-mnist:test", a folder, an IDX file), which brings its own labels.
ImageSet read_images(const std::string& source, const std::string& labels_path);

// Prints a JSON object as "key: value" lines on stdout.
void print_report(const nlohmann::json& report);

}  // namespace flowmatch::cli
