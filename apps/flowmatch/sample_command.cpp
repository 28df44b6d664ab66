// flowmatch sample MODEL|RUN_DIR --n N --out FILE.npy|FILE.csv [--solver ...] [--noise FILE.npy]
//                  [--trajectory FILE.npy] [--trajectory-png FILE] [--png FILE] [--logp FILE.npy]
//                  image models: [--class K|NAME] [--cfg W] [--batch B] [--png GRID.png]
//                  context models: --context C.npy | --context-values A,B,... [--cfg W] [--batch B]
#include <torch/torch.h>

#include <chrono>
#include <cmath>
#include <memory>
#include <optional>

#include "commands.h"
#include "common.h"
#include "flowmatch/core/error.h"
#include "flowmatch/core/memory_budget.h"
#include "flowmatch/data/conditional_data.h"
#include "flowmatch/figures/figures.h"
#include "flowmatch/figures/image_grid.h"
#include "flowmatch/io/atomic_file.h"
#include "flowmatch/io/npy.h"
#include "flowmatch/io/points_file.h"
#include "flowmatch/model/model_registry.h"
#include "flowmatch/ode/image_sampling.h"
#include "flowmatch/ode/likelihood.h"
#include "flowmatch/ode/sampling.h"
#include "flowmatch/train/conditional_sampling.h"
#include "flowmatch/train/model_usage.h"
#include "flowmatch/train/run_dir.h"

namespace flowmatch::cli {

namespace {
struct SampleArgs {
  std::string model, out, noise, trajectory, trajectory_png, png, logp;
  std::string context, context_values;  // context models: a file of contexts, or one inline
  int64_t n = 1000;
  std::string class_name;  // images: a class index or name; "" = every class
  double cfg = 1.0;
  // Unless given: 50 for images (larger batches are no faster, and 250 ran 5x slower here,
  // docs/design.md), 10000 rows for context models.
  int64_t batch = 0;
  SolverOptions solver;
  DensityArgs density;
  RunSettings run;
};

// "a/traj.npy" -> "a/traj.times.npy"
std::string times_path(const std::string& trajectory) {
  return trajectory.substr(0, trajectory.size() - 4) + ".times.npy";
}

// "a/samples.npy" -> "a/samples.labels.npy"
std::string labels_path_for(const std::string& samples) {
  return samples.substr(0, samples.size() - 4) + ".labels.npy";
}

// --class as given: a class index or one of the model's class names.
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

// An image model: images [N, C, H, W] in [-1, 1] to .npy, their labels to *.labels.npy, a grid to --png.
void run_image_sample(const SampleArgs& a, CLI::App* cmd, VelocityModel& model, const ModelUsage& usage,
                      const SolverOptions& solver) {
  for (const char* option : {"--noise", "--trajectory", "--trajectory-png", "--logp", "--float64", "--context", "--context-values"})
    if (cmd->count(option)) throw Error(std::string(option) + " is for point models; this model makes images");
  require_npy_path(a.out, "--out (images)");
  int64_t batch = cmd->count("--batch") ? a.batch : 50;
  if (batch <= 0) throw Error("--batch must be positive, got " + std::to_string(a.batch));
  if (!std::isfinite(a.cfg)) throw Error("--cfg must be a finite number");
  std::optional<int64_t> label;
  if (!a.class_name.empty()) label = class_index(a.class_name, model, usage);
  if (cmd->count("--cfg") && model.classes() == 0) throw Error("--cfg needs a class-conditional model; this one is unconditional");
  std::string labels_path = labels_path_for(a.out);
  if (model.classes() > 0) check_writable_destination(labels_path);
  at::Generator gen = start_run(a.run.seed, a.run.threads, Workload::Convolutions);
  ImageSamples samples = sample_images(model, a.n, label, a.cfg, solver, batch, gen);
  if (!torch::isfinite(samples.images).all().item<bool>())
    throw Error("the samples hold non-finite values: the model or the solver diverged; nothing was written");
  write_npy(a.out, samples.images);
  nlohmann::json report = {{"samples", a.out}, {"n", a.n}, {"solver", solver.method}, {"nfe", samples.nfe}};
  if (samples.labels.defined()) {
    write_npy(labels_path, samples.labels);
    report["labels"] = labels_path;
    report["cfg"] = a.cfg;
  }
  if (!a.png.empty()) {
    draw_labelled_image_grid_png(a.png, samples.images, samples.labels, samples.columns, usage.class_names);
    report["png"] = a.png;
  }
  print_report(report);
}

// A context model: n samples per context, grouped by context, to --out (and a density plot to --png).
void run_context_sample(const SampleArgs& a, CLI::App* cmd, VelocityModel& model, const ModelUsage& usage,
                        const SolverOptions& solver) {
  for (const char* option : {"--noise", "--trajectory", "--trajectory-png", "--logp", "--class"})
    if (cmd->count(option)) throw Error(std::string(option) + " is not available for context models yet");
  if (a.context.empty() && a.context_values.empty())
    throw Error("this model samples p(x | c): give the contexts with --context FILE or --context-values A,B,...");
  int64_t batch = cmd->count("--batch") ? a.batch : 10000;
  if (batch <= 0) throw Error("--batch must be positive, got " + std::to_string(a.batch));
  if (!std::isfinite(a.cfg)) throw Error("--cfg must be a finite number");
  if (a.png.size() && model.data_dim() != 2) throw Error("--png draws 2-D samples; this model is " + std::to_string(model.data_dim()) + "-D");
  at::Tensor contexts = read_contexts(a.context, a.context_values);
  usage.model_context(model, contexts);  // checks the width before any work
  require_memory(sampling_memory_bytes(model, std::min(batch, contexts.size(0) * a.n)) +
                     4.0 * double(contexts.size(0)) * double(a.n) * double(model.data_dim()),
                 "sampling " + std::to_string(a.n) + " points for each of " + std::to_string(contexts.size(0)) + " contexts");
  at::Generator gen = start_run(a.run.seed, a.run.threads);
  auto solve_start = std::chrono::steady_clock::now();
  ConditionalSamples samples = sample_given_contexts(model, usage, contexts, a.n, solver, a.cfg, batch, gen);
  std::chrono::duration<double> solve_seconds = std::chrono::steady_clock::now() - solve_start;
  write_points(a.out, samples.x);
  nlohmann::json report = {{"samples", a.out}, {"contexts", contexts.size(0)}, {"n_per_context", a.n},
                           {"n", samples.x.size(0)}, {"solver", solver.method}, {"nfe", samples.nfe},
                           {"sample_seconds", solve_seconds.count()}};
  if (a.cfg != 1.0) report["cfg"] = a.cfg;
  if (!a.png.empty()) {
    draw_density_png(a.png, samples.x, "samples given " + std::to_string(contexts.size(0)) + " context(s)");
    report["png"] = a.png;
  }
  print_report(report);
}

void run_sample(const SampleArgs& a, CLI::App* cmd) {
  if (a.out.empty()) throw Error("--out is required: a .npy or .csv file for the samples (.npy for images)");
  std::vector<std::string> outputs = {a.out};
  if (!a.trajectory.empty()) {
    require_npy_path(a.trajectory, "--trajectory");
    outputs.push_back(a.trajectory);
    outputs.push_back(times_path(a.trajectory));
  }
  if (!a.trajectory_png.empty()) outputs.push_back(a.trajectory_png);
  if (!a.logp.empty()) {
    require_npy_path(a.logp, "--logp");
    outputs.push_back(a.logp);
  }
  if (!a.png.empty()) outputs.push_back(a.png);
  for (const auto& path : outputs) check_writable_destination(path);
  if (a.n <= 0) throw Error("--n must be positive, got " + std::to_string(a.n));

  TrainedModel trained = load_trained_model(a.model, a.density.float64);
  const ModelUsage& usage = trained.usage;
  std::shared_ptr<VelocityModel> model = trained.model;
  SolverOptions solver = a.solver;
  if (usage.sampler && !cmd->count("--solver")) {  // the sampler the model was trained for
    solver.method = usage.sampler->method;
    if (!cmd->count("--steps")) solver.steps = usage.sampler->steps;
  }
  validate_sampler(solver);
  if (model->sample_shape().size() > 1) return run_image_sample(a, cmd, *model, usage, solver);
  check_points_extension(a.out);
  if (model->context_dim() > 0) return run_context_sample(a, cmd, *model, usage, solver);
  if (!a.context.empty() || !a.context_values.empty())
    throw Error("--context needs a model trained with one (train --context); " + a.model + " takes none");
  if (cmd->count("--class") || cmd->count("--cfg")) throw Error("--class and --cfg are for class-conditional image models");
  if (cmd->count("--batch")) throw Error("--batch is for image and context models; point samples are integrated together");
  solver.keep_trajectory = !a.trajectory.empty() || !a.trajectory_png.empty();
  LikelihoodOptions density_options = a.density.options;  // for --logp: the divergence, along the sampling solver
  density_options.solver = solver;
  if (!a.logp.empty()) {
    density_options.validate();
    usage.require_normal_start(a.model);
  }
  require_memory(sampling_memory_bytes(*model, a.n), "sampling " + std::to_string(a.n) + " points at once");
  at::Generator gen = start_run(a.run.seed, a.run.threads);
  at::Tensor noise;
  if (!a.noise.empty()) {
    noise = read_points(a.noise);
    if (cmd->count("--n") && noise.size(0) != a.n)
      throw Error("--n " + std::to_string(a.n) + " disagrees with the " + std::to_string(noise.size(0)) + " rows of " + a.noise);
    if (noise.size(1) != model->data_dim())
      throw Error(a.noise + " holds " + std::to_string(noise.size(1)) + "-D points but the model is " +
                  std::to_string(model->data_dim()) + "-D");
  } else {
    noise = usage.draw_start(a.n, model->data_dim(), gen);
  }
  if (usage.data_scaling && !usage.source.empty()) throw Error("a standardized model starts from N(0, I)");
  Solution solution;
  at::Tensor log_density;
  auto solve_start = std::chrono::steady_clock::now();
  if (a.logp.empty()) {
    solution = generate(*model, noise, solver);
  } else {
    torch::NoGradGuard no_grad;
    DensitySolution s = sample_with_log_density(*model, noise, density_options, gen);
    solution = s.path;
    log_density = s.log_density.to(torch::kDouble) + usage.log_density_shift();  // in the data's units
  }
  solution.x = usage.to_data_units(solution.x);
  for (auto& state : solution.states) state = usage.to_data_units(state);
  std::chrono::duration<double> solve_seconds = std::chrono::steady_clock::now() - solve_start;
  if (!torch::isfinite(solution.x).all().item<bool>())
    throw Error("the samples hold non-finite values: the model or the solver diverged; nothing was written");
  if (log_density.defined() && !torch::isfinite(log_density).all().item<bool>())
    throw Error("some log-densities are not finite: the model or the solver diverged; nothing was written");

  write_points(a.out, solution.x);
  if (!a.trajectory.empty()) {
    write_npy(a.trajectory, torch::stack(solution.states));
    write_npy(times_path(a.trajectory), torch::tensor(solution.times, torch::kDouble));
  }
  std::string label = solver.method + (solver.method == "dopri5" ? "" : ", " + std::to_string(solver.steps) + " steps");
  if (!a.png.empty()) draw_density_png(a.png, solution.x, "samples (" + label + ", NFE " + std::to_string(solution.nfe) + ")");
  if (!a.trajectory_png.empty()) draw_trajectories_png(a.trajectory_png, solution.states, "trajectories (" + label + ")");
  nlohmann::json report = {{"samples", a.out}, {"n", solution.x.size(0)}, {"solver", solver.method}, {"nfe", solution.nfe},
                           {"sample_seconds", solve_seconds.count()}};
  if (!a.trajectory.empty()) report["trajectory"] = a.trajectory;
  if (!a.png.empty()) report["png"] = a.png;
  if (!a.trajectory_png.empty()) report["trajectory_png"] = a.trajectory_png;
  if (log_density.defined()) {
    write_npy(a.logp, log_density);
    NllSummary nll = summarize_nll(log_density, solution.x.size(1));
    report["logp"] = a.logp;
    report["divergence"] = a.density.options.describe_divergence();
    report["nll_nats"] = nll.nats;
    report["nll_se"] = nll.nats_se;
  }
  print_report(report);
}
}  // namespace

void add_sample_command(CLI::App& app) {
  auto args = std::make_shared<SampleArgs>();
  CLI::App* cmd = app.add_subcommand("sample", "Generate points by integrating dx/dt = v(x, t) from noise at t = 0 to t = 1");
  cmd->add_option("model", args->model, "A weights file (.safetensors) or a run folder")->required();
  cmd->add_option("--n", args->n, "Number of samples")->capture_default_str();
  cmd->add_option("--out", args->out, "Where to write the samples: .npy or .csv");
  cmd->add_option("--noise", args->noise, "Integrate these starting points (.npy/.csv [N, D]) instead of fresh ones (noise, or the model's --source)");
  cmd->add_option("--trajectory", args->trajectory,
                  "Keep the intermediate states: [K+1, N, D] to this .npy, their times to *.times.npy");
  cmd->add_option("--trajectory-png", args->trajectory_png, "Draw the paths from noise to samples to this PNG");
  cmd->add_option("--png", args->png, "Draw the samples to this PNG: their density (points), or a grid with one row per class (images)");
  cmd->add_option("--logp", args->logp,
                  "Also write each sample's log-density (nats) to this .npy, from the same solve (adds div v to it)");
  cmd->add_option("--context", args->context,
                  "Context models: a .npy/.csv of contexts; --n samples are drawn for each row, grouped by row");
  cmd->add_option("--context-values", args->context_values, "Context models: one context given inline, e.g. 0.3,1.2");
  cmd->add_option("--class", args->class_name, "Images: draw this class (index or name); default: every class in turn");
  cmd->add_option("--cfg", args->cfg, "Class or context models: classifier-free guidance weight w, v = v_uncond + w (v_cond - v_uncond)")
      ->capture_default_str();
  cmd->add_option("--batch", args->batch, "Images and context models: samples integrated together (default 50 images, 10000 points)");
  add_solver_options(cmd, args->solver);
  add_density_options(cmd, args->density);
  add_run_options(cmd, args->run);
  cmd->callback([args, cmd] { run_sample(*args, cmd); });
}

}  // namespace flowmatch::cli
