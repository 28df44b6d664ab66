// flowmatch impute MODEL|RUN_DIR --data PARTIAL --out FULL [--solver midpoint --steps 50 --time-grid ... --noise-scale G]
//                  [--corrector-steps 40] [--corrector-size 1] [--context C.npy] [--batch B]
//
// Fills the missing entries of each row (NaN in PARTIAL, the only input where NaN is allowed) with
// a draw from the model's conditional p(missing | known): replacement along the path with Langevin
// corrections (ode/imputation.h, docs/sampling.md). The known entries come back as given.
#include <torch/torch.h>

#include <algorithm>
#include <memory>

#include "commands.h"
#include "common.h"
#include "flowmatch/core/error.h"
#include "flowmatch/io/points_file.h"
#include "flowmatch/model/engine.h"
#include "flowmatch/ode/imputation.h"

namespace flowmatch::cli {

namespace {
struct ImputeArgs {
  std::string model, data, out, context;
  std::string engine = "auto";
  int64_t batch = 10000;
  bool overwrite = false;
  ImputationOptions imputation;
  RunSettings run;
};

void run_impute(const ImputeArgs& a) {
  if (a.data.empty()) throw Error("--data is required: a .npy/.csv of points with NaN where entries are missing");
  if (a.out.empty()) throw Error("--out is required: a .npy or .csv file for the completed points");
  check_points_extension(a.out);
  if (a.batch <= 0) throw Error("--batch must be positive, got " + std::to_string(a.batch));
  a.imputation.validate();  // a fixed-grid solver: it takes no --atol or --rtol
  check_writable_destination(a.out, a.overwrite);
  TrainedModel trained = load_trained_model(a.model);
  require_points_model(*trained.model, a.model, "impute (inpaint fills images)");
  const ModelUsage& usage = trained.usage;
  PathAt path = usage.path_at(a.model, "imputation", true);
  note_restarting_steps(a.imputation.solver, path);
  at::Tensor given = read_partial_points(a.data);  // data units, NaN where missing
  const int64_t rows = given.size(0), dim = trained.model->data_dim();
  if (given.size(1) != dim)
    throw Error(a.data + " holds " + std::to_string(given.size(1)) + "-D points but the model is " + std::to_string(dim) + "-D");
  at::Tensor context = contexts_per_row(*trained.model, usage, a.context, rows, a.model, "p(x | c)");
  const at::Tensor missing = given.isnan();
  const int64_t missing_entries = missing.sum().item<int64_t>();

  const bool native = runs_natively(*trained.model, a.engine);
  at::Generator gen = start_run(a.run.seed, a.run.threads, native ? Workload::NativeKernels : Workload::MatrixProducts);
  std::shared_ptr<VelocityModel> model = on_engine(trained.model, a.engine, a.run.threads);
  at::Tensor model_units = usage.to_model_units(given);  // NaN stays NaN
  const Guidance guidance{{}, 1.0, context};
  const Solution filled =
      impute_in_batches("impute", "points", *model, model_units, missing, path, a.imputation, a.batch, gen, guidance);
  const int64_t nfe = filled.nfe;
  at::Tensor full = torch::where(missing, usage.to_data_units(filled.x).to(given.dtype()), given);  // known entries as given
  if (!torch::isfinite(full).all().item<bool>())
    throw Error("the imputed values are not finite: the model or the solver diverged; nothing was written");
  write_points(a.out, full);
  nlohmann::json report = {{"out", a.out},
                           {"n", rows},
                           {"missing_entries", missing_entries},
                           {"rows_with_missing", missing.any(1).sum().item<int64_t>()},
                           {"solver", a.imputation.solver.describe()},
                           {"corrector_steps", a.imputation.corrector_steps},
                           {"nfe", nfe}};
  print_report(report);
}
}  // namespace

void add_impute_command(CLI::App& app) {
  auto args = std::make_shared<ImputeArgs>();
  CLI::App* cmd = app.add_subcommand("impute", "Fill the missing (NaN) entries of points with draws from the model's p(missing | known)");
  cmd->add_option("model", args->model, "A weights file (.safetensors) or a run folder")->required();
  cmd->add_option("--data", args->data, "Points with missing entries (.npy/.csv [N, D]; NaN, or nan in a .csv, marks one)");
  cmd->add_option("--out", args->out, "Where to write the completed points: .npy or .csv");
  cmd->add_option("--context", args->context, "Context models: one context row per data row (.npy/.csv)");
  add_corrector_options(cmd, args->imputation);
  cmd->add_option("--batch", args->batch, "Rows completed together")->capture_default_str();
  add_engine_option(cmd, args->engine);
  add_solver_options(cmd, args->imputation.solver, false);
  add_stochastic_option(cmd, args->imputation.solver);
  add_overwrite_flag(cmd, args->overwrite);
  add_run_options(cmd, args->run);
  cmd->callback([args] { run_impute(*args); });
}

}  // namespace flowmatch::cli
