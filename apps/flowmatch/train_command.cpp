// flowmatch train --data NAME|FILE --out RUN_DIR [options]
#include <iostream>
#include <memory>

#include "commands.h"
#include "common.h"
#include "flowmatch/model_usage.h"
#include "flowmatch/run_dir.h"

namespace flowmatch::cli {

void add_train_command(CLI::App& app) {
  auto args = std::make_shared<TrainArgs>();
  CLI::App* cmd = app.add_subcommand("train", "Train a velocity field with the conditional flow-matching loss");
  add_train_options(cmd, *args);
  cmd->callback([args, cmd] {
    TrainResult result = run_training(*args, cmd);
    const std::string& out = args->resume.empty() ? args->out : args->resume;
    nlohmann::json report = {{"model", out + "/" + RunDir::kModel},
                             {"config", out + "/" + RunDir::kConfig},
                             {"metrics", out + "/" + RunDir::kMetrics},
                             {"loss_curve", out + "/" + RunDir::kLossCurve},
                             {"final_loss", result.log_losses.back()},
                             {"train_seconds", result.seconds}};
    ModelUsage usage;
    usage.source = args->source;
    at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(args->run.seed + 1);
    report_path_geometry(report, *result.model, usage.draw_start(2000, result.model->data_dim(), gen));
    print_report(report);
  });
}

}  // namespace flowmatch::cli
