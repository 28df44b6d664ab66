#pragma once
// Pieces shared by the subcommands: options that several take, and the training job that both
// `train` and `demo` run.
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <memory>
#include <optional>
#include <vector>
#include <string>

#include "flowmatch/core/threads.h"
#include "flowmatch/ode/likelihood.h"
#include "flowmatch/ode/solver.h"
#include "flowmatch/train/model_usage.h"
#include "flowmatch/train/trainer.h"

namespace flowmatch::cli {

// --seed and --threads (0 = one per physical core).
struct RunSettings {
  uint64_t seed = 0;
  int threads = 0;
};
void add_run_options(CLI::App* cmd, RunSettings& settings);
// Applies the thread count, shared as `workload` wants (threads.h), and returns a generator seeded
// with settings.seed (torch's global generator, used for weight initialisation, is seeded too).
at::Generator start_run(const RunSettings& settings, Workload workload = Workload::MatrixProducts);

// --solver, --steps, --atol, --rtol.
void add_solver_options(CLI::App* cmd, SolverOptions& options);

// Throws "<option> must name a .npy file" unless `path` ends in .npy.
void require_npy_path(const std::string& path, const std::string& option);

// Log-densities need the flow's start density: throws Error unless the model `name` starts from N(0, I).
void require_normal_start(const ModelUsage& usage, const std::string& name);

// --divergence, --probes, --probe and --float64: how `likelihood` and `sample --logp` compute
// log-densities (their solver options are added with add_solver_options).
struct DensityArgs {
  LikelihoodOptions options;
  bool float64 = false;
  // Loads a weights file or run folder, the model converted to float64 with --float64.
  TrainedModel load(const std::string& model_or_run_dir) const;
};
void add_density_options(CLI::App* cmd, DensityArgs& args);
// "exact divergence" or "hutchinson, K rademacher probes".
std::string describe_divergence(const LikelihoodOptions& options);

// --objective, --interval-fraction, --scheduler and the time sampler (train).
void add_objective_options(CLI::App* cmd, TrainOptions& options);
// The optimiser, logging and checkpoints: the options of every command that trains (train, reflow, distill).
void add_optimisation_options(CLI::App* cmd, TrainOptions& options);

// The network options (--model, --width, ...) of train and convert.
struct ModelArgs {
  std::string name;  // --model
  int64_t width = 0, depth = 0, time_dim = 0, fourier_features = -1, groups = 0;  // 0 / -1: the model's default
  std::vector<int64_t> widths;
  double time_scale = 0, fourier_scale = 0;
  std::string activation;
  // The model config (model_registry.h) for samples of `shape` ([D] points or [C, H, W] images) and
  // `classes` labels (unet), with model-specific defaults for what was left unset; `interval` adds
  // MeanFlow's interval input.
  nlohmann::json config(const std::vector<int64_t>& shape, int64_t classes, bool interval) const;
};
void add_model_options(CLI::App* cmd, ModelArgs& args);

// Everything `flowmatch train` takes.
struct TrainArgs {
  std::string config;
  std::string resume;  // a run folder to continue
  std::string data;
  int64_t data_n = 0;
  std::string source;                  // "" = N(0, I)
  std::string coupling = "independent";
  std::string out;
  bool overwrite = false;
  std::string labels;                  // IDX labels for IDX images
  int image_size = 32, channels = 0;   // picture folders: scaled to this square; 1, 3 or 0 (as the pictures are)
  bool flip = false;
  bool unconditional = false;          // ignore the images' labels
  ModelArgs net;                       // net.name "": mlp for points, unet for images
  TrainOptions options;
  RunSettings run;
  int nproc = 1;              // start this many local processes as one job
  double dist_timeout = 60;   // seconds: the rendezvous and every collective of a multi-process job
};
void add_train_options(CLI::App* cmd, TrainArgs& args);

// Validates everything, loads the data, creates the run folder, writes config.toml (the resolved
// options of `cmd`), trains, and draws loss.png. Prints where things went. In a multi-process job
// (world_info.h), it joins the other ranks first, and only rank 0 writes or prints; the others
// return an empty result. Returns the trained weights with how they are meant to be used (what
// model.safetensors' metadata says).
struct TrainingRun {
  TrainResult result;
  ModelUsage usage;
};
TrainingRun run_training(const TrainArgs& args, CLI::App* cmd);

// The command line this program was started with (main.cpp sets it), for `--nproc` to start copies.
std::vector<std::string>& command_line();
// --nproc N: runs this command line, less --nproc, as N processes of one job; throws Error naming
// the rank that failed.
void run_local_processes(int processes);

// Applies `cmd`'s --config file, if one was given: every key sets its option unless the command
// line already did.
void apply_config_file(CLI::App* cmd, const std::string& path);
// Creates the run folder and writes config.toml: the resolved options of `cmd`.
void create_run_dir(CLI::App* cmd, const std::string& out, bool overwrite);
// Says what is trained on stderr, trains into the run folder `out` (as rank 0 of `group`, when
// given), and draws loss.png.
TrainResult train_into_run_dir(std::shared_ptr<VelocityModel> model, const TrainingPairs& pairs,
                               const TrainOptions& options, at::Generator& gen, const std::string& out,
                               ProcessGroup* group = nullptr);

// Samples from an image model, `batch` images per solve with a progress line: n images of class
// `class_label` when it is set, else of every class in turn (label i / ceil(n / K), so that a grid of
// ceil(n / K) columns has one row per class) for a conditional model, or unconditional ones.
// cfg is the guidance weight w (sampling.h).
struct ImageSamples {
  at::Tensor images, labels;  // [n, C, H, W]; [n] int64 (undefined when unconditional)
  int64_t nfe = 0;            // network evaluations per image (x 2 with guidance, both in one batch)
  int64_t columns = 0;        // grid columns: ceil(n / K) when sampling every class, else about sqrt(n)
};
ImageSamples sample_images(VelocityModel& model, int64_t n, std::optional<int64_t> class_label, double cfg,
                           const SolverOptions& solver, int64_t batch, at::Generator& gen);
// The samples as a PNG grid, rows labelled by class name when one row is one class.
void draw_samples_grid(const std::string& path, const ImageSamples& samples, const std::vector<std::string>& class_names);

// Adds "straightness" and "curvature" (straightness.h) of the model's paths from `start`, along
// `steps` Euler steps, to `report`.
void report_path_geometry(nlohmann::json& report, VelocityModel& model, const at::Tensor& start, int64_t steps = 100);

// Prints a JSON object as "key: value" lines on stdout.
void print_report(const nlohmann::json& report);

}  // namespace flowmatch::cli
