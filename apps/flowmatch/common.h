#pragma once
// Pieces shared by the subcommands: options that several take, and the training job that both
// `train` and `demo` run.
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <memory>
#include <string>

#include "flowmatch/likelihood.h"
#include "flowmatch/solver.h"
#include "flowmatch/trainer.h"

namespace flowmatch::cli {

// --seed and --threads (0 = one per physical core).
struct RunSettings {
  uint64_t seed = 0;
  int threads = 0;
};
void add_run_options(CLI::App* cmd, RunSettings& settings);
// Applies the thread count and returns a generator seeded with settings.seed (torch's global
// generator, used for weight initialisation, is seeded too).
at::Generator start_run(const RunSettings& settings);

// --solver, --steps, --atol, --rtol.
void add_solver_options(CLI::App* cmd, SolverOptions& options);

// Throws "<option> must name a .npy file" unless `path` ends in .npy.
void require_npy_path(const std::string& path, const std::string& option);

// --divergence, --probes, --probe and --float64: how `likelihood` and `sample --logp` compute
// log-densities (their solver options are added with add_solver_options).
struct DensityArgs {
  LikelihoodOptions options;
  bool float64 = false;
  // Loads a weights file or run folder, converted to float64 with --float64.
  std::shared_ptr<VelocityModel> load(const std::string& model_or_run_dir) const;
};
void add_density_options(CLI::App* cmd, DensityArgs& args);
// "exact divergence" or "hutchinson, K rademacher probes".
std::string describe_divergence(const LikelihoodOptions& options);

// Everything `flowmatch train` takes.
struct TrainArgs {
  std::string config;
  std::string data;
  int64_t data_n = 0;
  std::string out;
  bool overwrite = false;
  std::string model = "mlp";
  int64_t width = 0, depth = 0, time_dim = 0, fourier_features = -1;  // 0 / -1: the model's default
  double time_scale = 0, fourier_scale = 0;
  std::string activation;
  TrainOptions options;
  RunSettings run;
};
void add_train_options(CLI::App* cmd, TrainArgs& args);

// Validates everything, loads the data, creates the run folder, writes config.toml (the resolved
// options of `cmd`), trains, and draws loss.png. Prints where things went.
TrainResult run_training(const TrainArgs& args, CLI::App* cmd);

// Prints a JSON object as "key: value" lines on stdout.
void print_report(const nlohmann::json& report);

}  // namespace flowmatch::cli
