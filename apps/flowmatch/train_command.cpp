// flowmatch train --data NAME|FILE --out RUN_DIR [options]
#include <algorithm>
#include <iostream>
#include <memory>

#include "commands.h"
#include "common.h"
#include "flowmatch/figures/image_grid.h"
#include "flowmatch/model/engine.h"
#include "flowmatch/ode/image_sampling.h"
#include "flowmatch/train/model_usage.h"
#include "flowmatch/train/run_dir.h"

namespace flowmatch::cli {

void add_train_command(CLI::App& app) {
  auto args = std::make_shared<TrainArgs>();
  CLI::App* cmd = app.add_subcommand("train", "Train a velocity field with the conditional flow-matching loss");
  add_train_options(cmd, *args);
  cmd->callback([args, cmd] {
    if (args->nproc > 1) return run_local_processes(args->nproc);
    auto [result, usage, lock] = run_training(*args, cmd);  // the folder stays locked while samples.png is drawn
    if (!result.model) return;  // a rank other than 0 of a multi-process job (rank 0 reports), or a run that had ended
    const std::string& out = args->resume.empty() ? args->out : args->resume;
    nlohmann::json report = {{"model", out + "/" + RunDir::kModel},
                             {"config", out + "/" + RunDir::kConfig},
                             {"metrics", out + "/" + RunDir::kMetrics},
                             {"loss_curve", out + "/" + RunDir::kLossCurve},
                             {"final_loss", result.log_losses.back()},
                             {"train_seconds", result.seconds},
                             {"steps", result.steps}};
    if (result.best_step > 0) {  // held-out rows: the kept weights
      report["best_step"] = result.best_step;
      report["validation_loss"] = result.validation_loss;
    }
    for (const auto& [name, score] : result.scores) report["eval_" + name] = score;  // --eval-every: the last scores
    if (result.best_eval_step > 0) {  // --keep-best
      report["best_model"] = out + "/" + RunDir::kBest;
      report["best_eval_step"] = result.best_eval_step;
    }
    at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(args->run.seed + 1);
    if (result.model->sample_shape().size() > 1) {  // images: a grid of 10 per class (or 100), midpoint, 20 NFE
      SolverOptions solver{"midpoint", 10};
      ImageSampling request;
      request.n = result.model->classes() > 0 ? 10 * result.model->classes() : 100;
      ImageSamples samples = sample_images(*on_engine(result.model, result.engine), request, solver, gen);
      draw_image_grid_png(out + "/" + RunDir::kSamples, samples.images, samples.labels, usage.class_names,
                          "step " + std::to_string(result.steps) + ": " + image_grid_title(solver, samples, 1.0));
      report["samples_png"] = out + "/" + RunDir::kSamples;
    } else if (result.model->context_dim() == 0 && result.model->vocabulary() == 0) {  // a context model's paths depend on the context
      report_path_geometry(report, *on_engine(result.model, result.engine, args->run.threads),
                           usage.draw_start(2000, result.model->data_dim(), gen));
    }
    print_report(report);
  });
}

}  // namespace flowmatch::cli
