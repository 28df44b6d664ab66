// flowmatch sample MODEL|RUN_DIR --n N --out FILE.npy|FILE.csv [--solver ...] [--noise FILE.npy]
//                  [--trajectory FILE.npy] [--trajectory-png FILE] [--png FILE] [--logp FILE.npy]
//                  image models: [--class K|NAME] [--cfg W] [--batch B] [--png GRID.png]
//                  points models: [--batch B] (written as they are drawn)
//                  context models: --context C.npy | --context-values A,B,... [--cfg W]
//                  [--time-grid uniform|shift:S|edm:RHO|cosine] [--noise-scale G]
//                  editing: --from X.npy --strength S (start at t = 1 - S on the path from noise to X)
//                  token models: --out FILE.txt|FILE.npy [--steps K] [--temperature T] [--png HIST.png]
#include <torch/torch.h>

#include <chrono>
#include <filesystem>
#include <iostream>
#include <cmath>
#include <memory>
#include <optional>

#include "commands.h"
#include "common.h"
#include "flowmatch/core/error.h"
#include "flowmatch/core/file_name.h"
#include "flowmatch/core/memory_budget.h"
#include "flowmatch/data/conditional_data.h"
#include "flowmatch/figures/figures.h"
#include "flowmatch/figures/image_grid.h"
#include "flowmatch/io/atomic_file.h"
#include "flowmatch/io/npy.h"
#include "flowmatch/io/points_file.h"
#include "flowmatch/model/model_registry.h"
#include "flowmatch/model/engine.h"
#include "flowmatch/ode/image_sampling.h"
#include "flowmatch/ode/likelihood.h"
#include "flowmatch/ode/sampling.h"
#include "flowmatch/ode/token_sampling.h"
#include "flowmatch/core/progress.h"
#include "flowmatch/data/token_data.h"
#include "flowmatch/metrics/token_quality.h"
#include "flowmatch/train/point_sampling.h"
#include "flowmatch/train/model_usage.h"
#include "flowmatch/train/run_dir.h"

namespace flowmatch::cli {

namespace {
struct SampleArgs {
  std::string model, out, noise, trajectory, trajectory_png, png, logp;
  std::string context, context_values;  // context models: a file of contexts, or one inline
  std::string from;                     // editing: the points or images to start from
  double strength = 1.0;
  int64_t n = 1000;
  std::string class_name;  // images: a class index or name; "" = every class
  double cfg = 1.0;
  double temperature = 1.0;  // token models
  bool overwrite = false;
  // Unless given: 50 for images (larger batches are no faster, and 250 ran 5x slower here,
  // docs/design.md), 10000 for points.
  int64_t batch = 0;
  std::string engine = "auto";
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

// The model's path where sampling moves along it (stochastic sampling, editing); none otherwise.
// Throws Error when the model cannot do what was asked.
PathAt path_for(const SampleArgs& a, const ModelUsage& usage) {
  if (!(a.strength >= 0 && a.strength <= 1)) throw Error("--strength must lie in [0, 1], got " + std::to_string(a.strength));
  if (a.from.empty() && a.strength != 1.0) throw Error("--strength is for editing: give the points or images with --from");
  if (a.solver.noise_scale > 0) return usage.path_at(a.model, "stochastic sampling (--noise-scale)", true);
  if (!a.from.empty()) return usage.path_at(a.model, "editing (--from)", false);
  return {};
}

// The time grid, noise and editing strength, where they are not the defaults.
void describe_sampling(nlohmann::json& report, const SampleArgs& a, const SolverOptions& solver) {
  if (solver.time_grid != "uniform") report["time_grid"] = solver.time_grid;
  if (solver.noise_scale > 0) report["noise_scale"] = solver.noise_scale;
  if (!a.from.empty()) {
    report["from"] = a.from;
    report["strength"] = a.strength;
  }
}

// An image model: images [N, C, H, W] in [-1, 1] to .npy, their labels to *.labels.npy, a grid to --png.
void run_image_sample(const SampleArgs& a, CLI::App* cmd, const std::shared_ptr<VelocityModel>& model_ptr, const ModelUsage& usage,
                      const SolverOptions& solver) {
  VelocityModel& model = *model_ptr;
  for (const char* option : {"--trajectory", "--trajectory-png", "--logp", "--context", "--context-values"})
    if (cmd->count(option)) throw Error(std::string(option) + " is for point models; this model makes images");
  require_file_type(a.out, "--out (images)", ".npy");
  int64_t batch = cmd->count("--batch") ? a.batch : 50;
  if (batch <= 0) throw Error("--batch must be positive, got " + std::to_string(a.batch));
  if (!std::isfinite(a.cfg)) throw Error("--cfg must be a finite number");
  ImageSampling request;
  request.n = a.n;
  request.batch = batch;
  request.cfg = a.cfg;
  if (!a.class_name.empty()) request.class_label = class_index(a.class_name, model, usage);
  if (cmd->count("--cfg") && model.classes() == 0) throw Error("--cfg needs a class-conditional model; this one is unconditional");
  request.path = path_for(a, usage);
  note_restarting_steps(solver, request.path);
  if (!a.noise.empty()) {  // as invert wrote it: the noise, and a conditional model's labels beside it
    ImageSet noise = read_images(a.noise, "");
    as_model_input(model, noise.images, "noise (" + a.noise + ")");
    if (cmd->count("--n") && a.n != noise.size())
      throw Error("--n " + std::to_string(a.n) + " does not match the " + std::to_string(noise.size()) + " noise images of " + a.noise);
    request.n = noise.size();
    request.noise = noise.images;
    if (model.classes() > 0 && !request.class_label) request.labels = noise.labels;
  }
  if (!a.from.empty()) {  // a .npy or an image set; with --n, its first n images
    ImageSet from = read_images(a.from, "");
    const int64_t n = cmd->count("--n") ? std::min(a.n, from.size()) : from.size();
    request.from = as_model_input(model, from.images.slice(0, 0, n), "images to edit (" + a.from + ")");
    if (!a.noise.empty() && request.n != n)
      throw Error(a.noise + " holds noise for " + std::to_string(request.n) + " images but there are " + std::to_string(n) + " to edit");
    request.n = n;
    if (model.classes() > 0 && !request.class_label)
      throw Error("editing with a class-conditional model needs --class: the class to move the images toward");
    request.strength = a.strength;
  }
  std::string labels_path = labels_path_for(a.out);
  if (model.classes() > 0) check_writable_destination(labels_path, a.overwrite);
  at::Generator gen = start_run(a.run.seed, a.run.threads, Workload::Convolutions);
  bool native = runs_natively(model, a.engine);
  on_engine(model_ptr, a.engine);  // the unet's convolutions on Winograd kernels, or LibTorch's
  auto solve_start = std::chrono::steady_clock::now();
  ImageSamples samples = sample_images(model, request, solver, gen);
  std::chrono::duration<double> solve_seconds = std::chrono::steady_clock::now() - solve_start;
  if (!torch::isfinite(samples.images).all().item<bool>())
    throw Error("the samples hold non-finite values: the model or the solver diverged; nothing was written");
  write_npy(a.out, samples.images);
  nlohmann::json report = {{"samples", a.out}, {"n", request.n}, {"solver", solver.method}, {"nfe", samples.nfe},
                           {"sample_seconds", solve_seconds.count()}, {"engine", native ? "native" : "torch"}};
  describe_sampling(report, a, solver);
  if (samples.labels.defined()) {
    write_npy(labels_path, samples.labels);
    report["labels"] = labels_path;
    report["cfg"] = a.cfg;
  }
  if (!a.png.empty()) {
    draw_image_grid_png(a.png, samples.images, samples.labels, usage.class_names, image_grid_title(solver, samples, a.cfg));
    report["png"] = a.png;
  }
  print_report(report);
}

// One note naming the contexts whose z-score norm lies beyond the training contexts' 99th percentile
// (model_usage.h: context_reach): the model extrapolates there, so their samples are least to be trusted.
void note_contexts_beyond_reach(const ModelUsage& usage, const at::Tensor& contexts) {
  if (usage.context_reach <= 0 || !usage.context_scaling) return;
  at::Tensor norms = usage.context_scaling->norms(contexts).contiguous();
  const double* norm = norms.data_ptr<double>();
  std::vector<int64_t> far;
  for (int64_t k = 0; k < norms.size(0); ++k)
    if (norm[k] > usage.context_reach) far.push_back(k);
  if (far.empty()) return;
  auto hundredths = [](double v) { return c10::str(std::round(v * 100) / 100); };
  std::string rows;
  for (size_t i = 0; i < far.size() && i < 5; ++i) rows += (i ? ", " : "") + std::to_string(far[i]) + " (" + hundredths(norm[far[i]]) + ")";
  if (far.size() > 5) rows += ", ...";
  const bool one = far.size() == 1;
  std::cerr << "note: context row" << (one ? " " : "s ") << rows << " of " << norms.size(0) << (one ? " lies" : " lie")
            << " beyond 99 % of the training contexts, where the model extrapolates (the norm of a context's z-score; "
            << "the training rows' 99th percentile is " << hundredths(usage.context_reach) << ")\n";
}

// A points model, with or without a context: the samples go to --out (and their log-densities to
// --logp) batch by batch as they are drawn, so a set larger than memory is drawn in bounded memory.
void run_points_sample(const SampleArgs& a, CLI::App* cmd, const std::shared_ptr<VelocityModel>& model_ptr, const ModelUsage& usage,
                       SolverOptions solver) {
  VelocityModel& model = *model_ptr;
  check_points_extension(a.out);
  PointSampling request;
  request.n = a.n;
  if (model.context_dim() > 0) {
    if (cmd->count("--class")) throw Error("--class is for class-conditional image models");
    if (a.context.empty() && a.context_values.empty())
      throw Error("this model samples p(x | c): give the contexts with --context FILE or --context-values A,B,...");
    if (!std::isfinite(a.cfg)) throw Error("--cfg must be a finite number");
    request.contexts = read_contexts(a.context, a.context_values);
    usage.model_context(model, request.contexts);  // checks the width before any work
    note_contexts_beyond_reach(usage, request.contexts);
    request.cfg = a.cfg;
  } else {
    if (!a.context.empty() || !a.context_values.empty())
      throw Error("--context needs a model trained with one (train --context); " + a.model + " takes none");
    if (cmd->count("--class") || cmd->count("--cfg"))
      throw Error("--class and --cfg are for class-conditional image models and context models");
  }
  const int64_t groups = request.contexts.defined() ? request.contexts.size(0) : 1;  // of n samples, one per context
  const int64_t dim = model.data_dim();
  // Points given one per sample (--noise, --from): the first file given sets n unless --n does.
  bool n_set = cmd->count("--n") > 0;
  auto one_per_sample = [&](const std::string& file, const std::string& what) {
    at::Tensor points = read_points(file);  // refuses NaN and infinities
    if (!n_set && points.size(0) % groups == 0) request.n = points.size(0) / groups;
    n_set = true;
    if (points.size(0) != request.rows())
      throw Error(file + " holds " + std::to_string(points.size(0)) + " " + what + " for " + std::to_string(request.rows()) +
                  " samples (--n " + std::to_string(request.n) +
                  (groups > 1 ? " for each of " + std::to_string(groups) + " contexts)" : ")"));
    if (points.size(1) != dim)
      throw Error(file + " holds " + std::to_string(points.size(1)) + "-D points but the model is " + std::to_string(dim) + "-D");
    return points;
  };
  if (!a.noise.empty()) request.noise = one_per_sample(a.noise, "start points");
  if (usage.data_scaling && !usage.source.empty()) throw Error("a standardized model starts from N(0, I)");
  if (!a.from.empty()) {
    request.from = one_per_sample(a.from, "points to edit");
    request.strength = a.strength;
  }
  note_restarting_steps(solver, path_for(a, usage));  // path_for refuses stochastic sampling and editing where the model cannot do them
  const int64_t total = request.rows();
  request.batch = cmd->count("--batch") ? a.batch : 10000;
  if (request.batch <= 0) throw Error("--batch must be positive, got " + std::to_string(a.batch));
  solver.keep_trajectory = !a.trajectory.empty() || !a.trajectory_png.empty();
  if (solver.keep_trajectory) request.batch = total;  // the paths are kept whole, [K + 1, N, D]
  if (!a.logp.empty()) {
    usage.require_normal_start(a.model);
    request.density = a.density.options;
  }
  // Before any work: the batch in memory (every state, with --trajectory), the files on disk.
  const std::string what = "sampling " + std::to_string(request.n) + " points" +
                           (groups > 1 ? " for each of " + std::to_string(groups) + " contexts" : "");
  const double kept_states = solver.keep_trajectory ? 4.0 * double(solver.steps + 1) * double(total) * double(dim) : 0;
  require_memory(sampling_memory_bytes(model, std::min(request.batch, total)) + kept_states, what);
  const double bytes_per_value = ends_with(a.out, ".csv") ? 16 : 4;  // about "-0.123456789," in text
  require_disk_space(a.out, bytes_per_value * double(total) * double(dim) + (a.logp.empty() ? 0 : 8.0 * double(total)), what);

  bool native = runs_natively(model, a.engine);
  at::Generator gen = start_run(a.run.seed, a.run.threads, native ? Workload::NativeKernels : Workload::MatrixProducts);
  std::shared_ptr<VelocityModel> engine = native ? on_engine(model_ptr, "native", a.run.threads) : model_ptr;
  PointsWriter samples(a.out, total, dim);
  std::optional<NpyWriter> logp;
  if (!a.logp.empty()) logp.emplace(a.logp, at::kDouble, std::vector<int64_t>{total});
  const int64_t plotted_rows = a.png.empty() ? 0 : std::min<int64_t>(total, 1000000);  // the density plot's points
  std::vector<at::Tensor> plotted;
  Solution last;  // the last batch's path: the only one with --trajectory
  NllAccumulator nll;
  auto solve_start = std::chrono::steady_clock::now();
  sample_points(*engine, usage, request, solver, gen, [&](const SampleBatch& batch) {
    samples.append(batch.path.x);
    if (logp) {
      logp->append(batch.log_density);
      nll.add(batch.log_density);
    }
    if (batch.first < plotted_rows) plotted.push_back(batch.path.x.slice(0, 0, plotted_rows - batch.first));
    last = batch.path;
  });
  samples.commit();
  if (logp) logp->commit();
  std::chrono::duration<double> solve_seconds = std::chrono::steady_clock::now() - solve_start;

  if (!a.trajectory.empty()) {
    write_npy(a.trajectory, torch::stack(last.states));
    write_npy(times_path(a.trajectory), torch::tensor(last.times, torch::kDouble));
  }
  std::string label = solver.describe();
  if (!a.png.empty()) {
    std::string title = request.contexts.defined()
                            ? "samples given " + std::to_string(groups) + " context(s)"
                            : "samples (" + label + ", NFE " + std::to_string(last.nfe) + ")";
    draw_density_png(a.png, torch::cat(plotted), title + (plotted_rows < total ? ", the first 1 000 000" : ""));
  }
  if (!a.trajectory_png.empty()) draw_trajectories_png(a.trajectory_png, last.states, "trajectories (" + label + ")");
  nlohmann::json report = {{"samples", a.out}, {"n", total}, {"solver", solver.method}, {"nfe", last.nfe},
                           {"sample_seconds", solve_seconds.count()}, {"engine", native ? "native" : "torch"}};
  describe_sampling(report, a, solver);
  if (request.contexts.defined()) {
    report["contexts"] = groups;
    report["n_per_context"] = request.n;
    if (a.cfg != 1.0) report["cfg"] = a.cfg;
  }
  if (!a.trajectory.empty()) report["trajectory"] = a.trajectory;
  if (!a.png.empty()) report["png"] = a.png;
  if (!a.trajectory_png.empty()) report["trajectory_png"] = a.trajectory_png;
  if (logp) {
    NllSummary summary = nll.summary(dim);
    report["logp"] = a.logp;
    report["divergence"] = a.density.options.describe_divergence();
    report["nll_nats"] = summary.nats;
    report["nll_se"] = summary.nats_se;
  }
  print_report(report);
}

// A token model: sequences drawn by the discrete Euler sampler, as text lines (a model of text) or
// .npy tokens [N, L], and for 2-token sequences their histogram to --png.
void run_token_sample(const SampleArgs& a, CLI::App* cmd, const TrainedModel& trained) {
  refuse_options_except(cmd, {"--n", "--out", "--steps", "--temperature", "--batch", "--png", "--seed", "--threads", "--overwrite"},
                        "a token model (" + a.model + ")");
  VelocityModel& model = *trained.model;
  const std::optional<CharacterVocabulary>& characters = trained.usage.characters;
  require_file_type(a.out, characters ? "--out (a model of text lines)" : "--out (tokens)", characters ? ".txt" : ".npy");
  const int64_t length = model.sample_shape()[0], vocabulary = model.vocabulary();
  if (!a.png.empty() && length != 2)
    throw Error("--png draws the histogram of 2-token sequences; this model's are " + std::to_string(length) + " tokens long");
  TokenSampling request;
  request.n = a.n;
  if (cmd->count("--steps")) request.steps = a.solver.steps;
  if (cmd->count("--batch")) request.batch = a.batch;
  request.temperature = a.temperature;
  request.validate();
  const MixturePath path = trained.usage.mixture_path(model, a.model);
  require_memory(sampling_memory_bytes(model, std::min(request.batch, request.n)) + 8.0 * double(request.n * length),
                 "sampling " + std::to_string(request.n) + " sequences");
  at::Generator gen = start_run(a.run.seed, a.run.threads, Workload::MatrixProducts);
  Progress progress("sample", request.n, request.batch, "nfe", "sequences");
  request.on_progress = [&](double along, int64_t nfe) { progress.update(int64_t(along * double(request.n)), double(nfe)); };
  auto start = std::chrono::steady_clock::now();
  TokenSamples samples = sample_tokens(model, path, request, gen);
  std::chrono::duration<double> seconds = std::chrono::steady_clock::now() - start;
  progress.finish();
  if (characters) write_text_lines(a.out, characters->decode(samples.tokens));
  else write_npy(a.out, samples.tokens);
  nlohmann::json report = {{"samples", a.out}, {"n", request.n}, {"sampler", "discrete-euler"}, {"nfe", samples.nfe},
                           {"temperature", request.temperature}, {"source", path.source()}, {"sample_seconds", seconds.count()}};
  if (!a.png.empty()) {  // row y = second token, column x = first
    draw_density_map_png(a.png, pair_histogram(samples.tokens, vocabulary).t(), PlotBox{0, double(vocabulary), 0, double(vocabulary)},
                         "token histogram (discrete Euler, NFE " + std::to_string(samples.nfe) + ")");
    report["png"] = a.png;
  }
  print_report(report);
}

void run_sample(const SampleArgs& a, CLI::App* cmd) {
  if (a.out.empty()) throw Error("--out is required: a .npy or .csv file for the samples (.npy for images)");
  std::vector<std::string> outputs = {a.out};
  if (!a.trajectory.empty()) {
    require_file_type(a.trajectory, "--trajectory", ".npy");
    outputs.push_back(a.trajectory);
    outputs.push_back(times_path(a.trajectory));
  }
  if (!a.trajectory_png.empty()) outputs.push_back(a.trajectory_png);
  if (!a.logp.empty()) {
    require_file_type(a.logp, "--logp", ".npy");
    outputs.push_back(a.logp);
  }
  if (!a.png.empty()) outputs.push_back(a.png);
  for (const auto& [path, option] : {std::pair{a.png, "--png"}, std::pair{a.trajectory_png, "--trajectory-png"}})
    if (!path.empty()) require_file_type(path, option, ".png");
  for (const auto& path : outputs) check_writable_destination(path, a.overwrite);
  if (a.n <= 0) throw Error("--n must be positive, got " + std::to_string(a.n));

  TrainedModel trained = load_trained_model(a.model, a.density.float64);
  std::string writer = std::filesystem::is_directory(a.model) ? run_dir_writer(a.model) : "";
  if (!writer.empty()) std::cerr << "note: " << a.model << " is still being written by " << writer << "\n";
  if (trained.step > 0) std::cerr << "sampling the weights saved at training step " << trained.step << "\n";
  if (trained.model->vocabulary() > 0) return run_token_sample(a, cmd, trained);
  const ModelUsage& usage = trained.usage;
  std::shared_ptr<VelocityModel> model = trained.model;
  SolverOptions solver = a.solver;
  if (usage.sampler && !cmd->count("--solver")) {  // the sampler the model was trained for
    solver.method = usage.sampler->method;
    if (!cmd->count("--steps")) solver.steps = usage.sampler->steps;
    if (!cmd->count("--time-grid")) solver.time_grid = usage.sampler->time_grid;  // as stored: computed once, in TimeGrid
  }
  validate_sampler(solver);
  refuse_unused_solver_options(cmd, solver);
  if (model->sample_shape().size() > 1) return run_image_sample(a, cmd, model, usage, solver);
  run_points_sample(a, cmd, model, usage, solver);
}
}  // namespace

void add_sample_command(CLI::App& app) {
  auto args = std::make_shared<SampleArgs>();
  CLI::App* cmd = app.add_subcommand("sample", "Generate points by integrating dx/dt = v(x, t) from noise at t = 0 to t = 1");
  cmd->add_option("model", args->model, "A weights file (.safetensors) or a run folder")->required();
  cmd->add_option("--n", args->n, "Number of samples")->capture_default_str();
  cmd->add_option("--out", args->out, "Where to write the samples: .npy or .csv (token models: .txt lines for text, .npy tokens)");
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
  cmd->add_option("--batch", args->batch, "Samples integrated together (default 50 images, 10000 points; --trajectory keeps them all in one)");
  cmd->add_option("--from", args->from,
                  "Edit: start from these points (.npy/.csv) or images (.npy [N, C, H, W] in [-1, 1], or an image set such as fashion-mnist:test) part-way along the path "
                  "from noise, at t = 1 - strength, and integrate to t = 1");
  cmd->add_option("--strength", args->strength, "Editing: how far back toward noise to start (0 keeps the input, 1 samples afresh)")
      ->capture_default_str();
  cmd->add_option("--temperature", args->temperature,
                  "Token models: divide the logits by this (below 1 sharper, above 1 more varied); --steps sets the discrete Euler steps (default 100)")
      ->capture_default_str();
  add_engine_option(cmd, args->engine);
  add_solver_options(cmd, args->solver);
  add_stochastic_option(cmd, args->solver);
  add_density_options(cmd, args->density);
  add_overwrite_flag(cmd, args->overwrite);
  add_run_options(cmd, args->run);
  cmd->callback([args, cmd] { run_sample(*args, cmd); });
}

}  // namespace flowmatch::cli
