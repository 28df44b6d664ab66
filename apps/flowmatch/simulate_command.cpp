// flowmatch simulate TASK --n N --theta THETA.npy --x X.npy [--seed S]
// flowmatch simulate TASK --posterior --observation OBS.npy --n N --out REF.npy [--seed S]
#include <torch/torch.h>

#include <memory>

#include "commands.h"
#include "common.h"
#include "flowmatch/core/error.h"
#include "flowmatch/core/registry.h"
#include "flowmatch/data/sbi_tasks.h"
#include "flowmatch/io/atomic_file.h"
#include "flowmatch/io/points_file.h"

namespace flowmatch::cli {

namespace {
struct SimulateArgs {
  std::string task, theta, x, observation, out;
  int64_t n = 0;
  bool posterior = false, overwrite = false;
  RunSettings run;
};

void run_simulate(const SimulateArgs& a, CLI::App* cmd) {
  std::unique_ptr<SbiTask> task = make_sbi_task(a.task);
  if (a.n <= 0) throw Error("--n must be positive, got " + std::to_string(a.n));
  if (a.posterior) {
    if (cmd->count("--theta") || cmd->count("--x")) throw Error("--posterior writes --out; --theta and --x are for simulations");
    if (a.observation.empty() || a.out.empty())
      throw Error("--posterior needs --observation OBS.npy (one observation per row) and --out REF.npy");
    check_points_extension(a.out);
    check_writable_destination(a.out, a.overwrite);
    at::Tensor observations = read_points(a.observation);
    if (observations.size(1) != task->x_dim())
      throw Error(a.observation + " holds " + std::to_string(observations.size(1)) + "-D rows but " + task->name() +
                  " observations are " + std::to_string(task->x_dim()) + "-D");
    at::Generator gen = start_run(a.run.seed, a.run.threads);
    std::vector<at::Tensor> draws;  // n per observation, grouped by observation
    for (int64_t k = 0; k < observations.size(0); ++k) draws.push_back(task->posterior(observations[k], a.n, gen));
    write_points(a.out, torch::cat(draws).to(torch::kFloat));
    print_report({{"task", task->name()}, {"observations", observations.size(0)}, {"n_per_observation", a.n}, {"out", a.out}});
    return;
  }
  if (cmd->count("--observation") || cmd->count("--out")) throw Error("--observation and --out are for --posterior");
  if (a.theta.empty() || a.x.empty()) throw Error("give --theta THETA.npy and --x X.npy to write the simulations to");
  for (const auto& path : {a.theta, a.x}) {
    check_points_extension(path);
    check_writable_destination(path, a.overwrite);
  }
  at::Generator gen = start_run(a.run.seed, a.run.threads);
  at::Tensor theta = task->prior(a.n, gen);
  at::Tensor x = task->simulate(theta, gen);
  write_points(a.theta, theta.to(torch::kFloat));
  write_points(a.x, x.to(torch::kFloat));
  print_report({{"task", task->name()}, {"n", a.n}, {"theta", a.theta}, {"theta_dim", task->theta_dim()},
                {"x", a.x}, {"x_dim", task->x_dim()}});
}
}  // namespace

void add_simulate_command(CLI::App& app) {
  auto args = std::make_shared<SimulateArgs>();
  CLI::App* cmd = app.add_subcommand(
      "simulate", "Simulation-based-inference benchmark tasks (sbibm): draw (theta, x) pairs, or a task's exact posterior");
  cmd->add_option("task", args->task, "The task: " + join_names(sbi_task_names()))->required();
  cmd->add_option("--n", args->n, "Simulations to draw, or posterior samples per observation");
  cmd->add_option("--theta", args->theta, "Write the parameters drawn from the prior here (.npy/.csv [N, dim theta])");
  cmd->add_option("--x", args->x, "Write the simulator's outputs here (.npy/.csv [N, dim x])");
  cmd->add_flag("--posterior", args->posterior, "Draw from the exact posterior p(theta | x_o) instead");
  cmd->add_option("--observation", args->observation, "--posterior: the observations x_o, one per row");
  cmd->add_option("--out", args->out, "--posterior: where to write n samples per observation, grouped by observation");
  add_overwrite_flag(cmd, args->overwrite);
  add_run_options(cmd, args->run);
  cmd->callback([args, cmd] { run_simulate(*args, cmd); });
}

}  // namespace flowmatch::cli
