// flowmatch invert MODEL|RUN_DIR --data X --out Z.npy [--n N] [--solver ...] [--batch B]
//                  points models: [--context C.npy]    image models: [--class K] [--cfg W] [--labels L.npy]
//
// Data to noise: integrates the model's ODE back from t = 1 to t = 0, so that
// `flowmatch sample MODEL --noise Z.npy` (with the same solver) returns the data. A class-conditional
// model inverts each image given its class, and the classes go to Z.labels.npy, where sample finds
// them. The report says how much Z looks like N(0, I).
#include <torch/torch.h>

#include <algorithm>
#include <limits>
#include <memory>

#include "commands.h"
#include "common.h"
#include "flowmatch/core/error.h"
#include "flowmatch/data/point_data.h"
#include "flowmatch/io/atomic_file.h"
#include "flowmatch/io/npy.h"
#include "flowmatch/metrics/normality.h"
#include "flowmatch/model/engine.h"
#include "flowmatch/ode/sampling.h"

namespace flowmatch::cli {

namespace {
struct InvertArgs {
  std::string model, data, out, context, labels, class_name;
  std::string engine = "auto";
  int64_t n = 0, batch = 0;
  double cfg = 1.0;
  bool overwrite = false, float64 = false;
  SolverOptions solver;
  RunSettings run;
};

// The data to invert in the model's units, with one guidance per row: points (a file, or --n draws
// of a built-in) with their contexts, or images with their classes.
struct Inversion {
  at::Tensor x;
  at::Tensor labels, context;  // [N] or [N, C], undefined where the model takes none
};

Inversion points_to_invert(const InvertArgs& a, CLI::App* cmd, const VelocityModel& model, const ModelUsage& usage, at::Generator& gen) {
  for (const char* option : {"--class", "--cfg", "--labels"})
    if (cmd->count(option)) throw Error(std::string(option) + " is for class-conditional image models");
  PointData data(a.data, 0, gen);
  const int64_t n = a.n > 0 ? a.n : (data.is_finite() ? std::numeric_limits<int64_t>::max() : 10000);
  Inversion out;
  out.x = data.reference(n, gen);
  if (out.x.size(1) != model.data_dim())
    throw Error(a.data + " holds " + std::to_string(out.x.size(1)) + "-D points but the model is " + std::to_string(model.data_dim()) + "-D");
  out.x = usage.to_model_units(out.x);
  out.context = contexts_per_row(model, usage, a.context, out.x.size(0), a.model, "flow");
  return out;
}

Inversion images_to_invert(const InvertArgs& a, CLI::App* cmd, VelocityModel& model, const ModelUsage& usage) {
  if (cmd->count("--context")) throw Error("--context is for point models; this model makes images");
  ImageSet set = read_images(a.data, a.labels);
  const int64_t n = a.n > 0 ? std::min(a.n, set.size()) : set.size();
  Inversion out;
  out.x = as_model_input(model, set.images.slice(0, 0, n), "images (" + a.data + ")");
  out.labels = labels_of_images(set, n, a.class_name, cmd->count("--cfg") > 0, model, usage);
  return out;
}

void run_invert(const InvertArgs& a, CLI::App* cmd) {
  if (a.data.empty()) throw Error("--data is required: the points or images to carry back to noise");
  if (a.out.empty()) throw Error("--out is required: a .npy file for the noise");
  require_file_type(a.out, "--out", ".npy");
  if (a.n < 0) throw Error("--n must be non-negative, got " + std::to_string(a.n));
  if (cmd->count("--batch") && a.batch <= 0) throw Error("--batch must be positive, got " + std::to_string(a.batch));
  if (!std::isfinite(a.cfg)) throw Error("--cfg must be a finite number");
  refuse_unused_solver_options(cmd, a.solver);
  check_writable_destination(a.out, a.overwrite);
  TrainedModel trained = load_trained_model(a.model, a.float64);
  std::shared_ptr<VelocityModel> model = trained.model;
  const ModelUsage& usage = trained.usage;
  if (model->takes_interval()) throw Error(a.model + " is a MeanFlow model: its jumps have no inverse; invert a flow");
  const bool images = model->sample_shape().size() > 1;
  const std::string labels_out = a.out.substr(0, a.out.size() - 4) + ".labels.npy";
  if (images && model->classes() > 0) check_writable_destination(labels_out, a.overwrite);
  validate_inversion(a.solver);

  bool native = runs_natively(*model, a.engine);
  at::Generator gen = start_run(a.run.seed, a.run.threads, images ? Workload::Convolutions
                                                           : native ? Workload::NativeKernels : Workload::MatrixProducts);
  Inversion data = images ? images_to_invert(a, cmd, *model, usage) : points_to_invert(a, cmd, *model, usage, gen);
  std::shared_ptr<VelocityModel> engine = on_engine(model, a.engine, a.run.threads);
  const int64_t total = data.x.size(0), batch = cmd->count("--batch") ? a.batch : images ? 50 : 10000;
  const Guidance guidance{data.labels, a.cfg, data.context};  // --cfg is refused for context models
  const Solution back = solve_in_batches("invert", total, batch, images ? "images" : "points", [&](int64_t first, int64_t end, const SolveProgress& on_progress) {
    SolverOptions stepping = a.solver;
    stepping.on_progress = on_progress;
    return invert(*engine, data.x.slice(0, first, end), stepping, guidance.rows(first, end));
  });
  const at::Tensor z = back.x;
  const int64_t nfe = back.nfe;
  if (!torch::isfinite(z).all().item<bool>())
    throw Error("the noise holds non-finite values: the model or the solver diverged; nothing was written");
  write_npy(a.out, z);  // in the solve's dtype: float64 noise keeps a --float64 round trip exact to its tolerance
  nlohmann::json report = {{"noise", a.out}, {"n", total}, {"solver", a.solver.describe()}, {"nfe", nfe}};
  if (images && data.labels.defined()) {
    write_npy(labels_out, data.labels);
    report["labels"] = labels_out;
  }
  Normality normal = normality_of(z);
  report["noise_mean"] = normal.mean;
  report["noise_variance"] = normal.variance;
  report["noise_skewness"] = normal.skewness;
  report["noise_excess_kurtosis"] = normal.excess_kurtosis;
  report["noise_ks_distance"] = normal.ks_distance;
  report["noise_ks_critical_1pct"] = normal.ks_critical_1pct;
  print_report(report);
}
}  // namespace

void add_invert_command(CLI::App& app) {
  auto args = std::make_shared<InvertArgs>();
  CLI::App* cmd = app.add_subcommand("invert", "Carry data back to noise: integrate the ODE from t = 1 to t = 0 (sample --noise returns it)");
  cmd->add_option("model", args->model, "A weights file (.safetensors) or a run folder")->required();
  cmd->add_option("--data", args->data,
                  "Points (a .npy/.csv file, or a built-in distribution) or images (a .npy [N, C, H, W] in [-1, 1], or an "
                  "image set such as fashion-mnist:test)");
  cmd->add_option("--out", args->out, "Where to write the noise (.npy), and a class-conditional model's labels beside it (*.labels.npy)");
  cmd->add_option("--n", args->n, "Invert the first N rows or images (a built-in: N fresh draws, 10000 unless given)");
  cmd->add_option("--context", args->context, "Context models: one context row per data row (.npy/.csv)");
  cmd->add_option("--class", args->class_name, "Class-conditional models: invert every image given this class (index or name)");
  cmd->add_option("--labels", args->labels, "Class-conditional models: the images' int64 labels (.npy); default: the set's own");
  cmd->add_option("--cfg", args->cfg, "Classifier-free guidance weight, as in sample")->capture_default_str();
  cmd->add_option("--batch", args->batch, "Rows integrated together (default 50 images, 10000 points)");
  add_engine_option(cmd, args->engine);
  args->solver.method = "dopri5";
  add_solver_options(cmd, args->solver);
  cmd->add_flag("--float64", args->float64, "Run the model and the solver in float64 (for round trips to 1e-4 and below)");
  add_overwrite_flag(cmd, args->overwrite);
  add_run_options(cmd, args->run);
  cmd->callback([args, cmd] { run_invert(*args, cmd); });
}

}  // namespace flowmatch::cli
