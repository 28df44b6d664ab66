// flowmatch demo [--out DIR]: train on the checkerboard with the default recipe, sample, evaluate
// and draw; every train option can be changed, as for `flowmatch train`.
#include <torch/torch.h>

#include <iostream>
#include <memory>

#include "commands.h"
#include "common.h"
#include "flowmatch/figures/figures.h"
#include "flowmatch/io/atomic_file.h"
#include "flowmatch/io/points_file.h"
#include "flowmatch/metrics/evaluation.h"
#include "flowmatch/model/engine.h"
#include "flowmatch/ode/sampling.h"
#include "flowmatch/train/run_dir.h"

namespace flowmatch::cli {

namespace {
struct DemoArgs {
  TrainArgs train;
  SolverOptions solver;
  int64_t n = 5000;
};

void run_demo(DemoArgs& a, CLI::App* cmd) {
  validate_sampler(a.solver);
  TrainingRun run = run_training(a.train, cmd);  // holds the folder while the demo writes it
  if (!run.result.model) return;  // --resume of a demo whose training had ended
  const TrainResult& trained = run.result;
  const std::string& dir = a.train.out;
  std::shared_ptr<VelocityModel> on_its_engine = on_engine(trained.model, trained.engine, a.train.run.threads);
  VelocityModel& model = *on_its_engine;  // sampled on the engine that trained it

  // Samples for the scores, and a larger set for a sharp density picture.
  at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(a.train.run.seed + 1);
  SolverOptions solver = a.solver;
  solver.keep_trajectory = true;
  Solution solution = generate(model, torch::randn({a.n, model.data_dim()}, gen), solver);
  Solution picture = generate(model, torch::randn({4 * a.n, model.data_dim()}, gen), a.solver);
  nlohmann::json report = evaluate_samples(solution.x, a.train.training.data, 0, gen);
  report_path_geometry(report, model, solution.states.front().slice(0, 0, 2000));
  report["solver"] = solver.method;
  report["nfe"] = solution.nfe;
  report["train_seconds"] = trained.seconds;

  std::string label = solver.method + ", NFE " + std::to_string(solution.nfe);
  write_points(dir + "/samples.npy", solution.x);
  draw_density_png(dir + "/samples.png", picture.x, a.train.training.data + " samples (" + label + ")");
  draw_trajectories_png(dir + "/trajectories.png", solution.states, "paths from noise to data (" + label + ")", 500);
  write_file_atomically(dir + "/eval.json", report.dump(2) + "\n");
  print_report(report);
  std::cout << "wrote " << dir << "/: " << RunDir::kModel << " " << RunDir::kConfig << " " << RunDir::kMetrics << " "
            << RunDir::kLossCurve << " samples.npy samples.png trajectories.png eval.json\n";
}
}  // namespace

void add_demo_command(CLI::App& app) {
  auto args = std::make_shared<DemoArgs>();
  args->train.training.data = "checkerboard";
  args->train.out = "flowmatch-demo";
  args->train.overwrite = true;
  args->solver.method = "rk4";
  args->solver.steps = 10;
  CLI::App* cmd = app.add_subcommand("demo", "Train on the checkerboard, sample, evaluate and draw, in a few minutes");
  add_train_options(cmd, args->train);
  cmd->get_option("--data")->capture_default_str();
  cmd->get_option("--out")->capture_default_str();
  cmd->add_option("--solver", args->solver.method, "Sampling solver")->capture_default_str();
  cmd->add_option("--sample-steps", args->solver.steps, "Sampling steps of a fixed-grid solver")->capture_default_str();
  cmd->add_option("--n", args->n, "Samples to score")->capture_default_str();
  cmd->callback([args, cmd] { run_demo(*args, cmd); });
}

}  // namespace flowmatch::cli
