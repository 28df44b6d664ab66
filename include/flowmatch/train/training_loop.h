#pragma once
#include <ATen/core/Generator.h>
#include <ATen/core/Tensor.h>
#include <torch/optim/adamw.h>

#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "flowmatch/core/progress.h"
#include "flowmatch/core/stop_signals.h"
#include "flowmatch/dist/gradient_buckets.h"
#include "flowmatch/dist/process_group.h"
#include "flowmatch/dist/seed_streams.h"
#include "flowmatch/io/tensorboard_events.h"
#include "flowmatch/model/velocity_model.h"
#include "flowmatch/train/ema.h"
#include "flowmatch/train/fused_adamw.h"
#include "flowmatch/train/metrics_log.h"
#include "flowmatch/train/training_options.h"
#include "flowmatch/train/training_state.h"

namespace flowmatch {

// Everything of a training run but its objective (trainer.cpp holds the few lines that are the
// objective's): AdamW with its learning-rate schedule, clipping and EMA (LibTorch's, or with
// options.engine "native" the fused pass of fused_adamw.h); the seed streams this
// rank draws from; the gradients and loss agreed between the ranks; metrics.jsonl (and a
// TensorBoard event file); evaluations and best.safetensors; checkpoints and resuming; stop
// signals; progress. One step is
//   begin_step, (draw the rows and compute the loss from streams()), update(loss), end_step.
class TrainingLoop {
 public:
  // Builds the optimizer and EMA, restores run_dir's training state when options.resume, joins the
  // ranks of `group` (rank 0's weights broadcast), and opens metrics.jsonl on the writing rank.
  TrainingLoop(std::shared_ptr<VelocityModel> model, const TrainOptions& options, at::Generator& gen,
               std::string run_dir, ProcessGroup* group);

  int64_t first_step() const { return position_.step; }
  // This rank's seed streams, which draw the step's rows.
  SeedStreams& streams() { return *streams_; }

  // Sets step `step`'s learning rate.
  void begin_step(int64_t step);
  // loss.backward(); the gradients summed over the ranks (weighted by their rows); the loss and
  // whether to stop agreed between them; clipping; AdamW; EMA. Throws Error when the loss or the
  // gradient is not finite.
  void update(const at::Tensor& loss, int64_t step);
  // The log line every log_every steps (with the held-out loss, when validate_on was called, and
  // the evaluation's scores every options.evaluation->every steps and at the end), a checkpoint every
  // checkpoint_every steps, and a stop (after saving) when a signal asked for one.
  void end_step(int64_t step);
  // Scores the weights (EMA when enabled) with `held_out_loss` at every log line, keeps the best,
  // and converges once options.patience lines in a row did not improve on it.
  void validate_on(std::function<double(VelocityModel&)> held_out_loss);
  bool converged() const { return converged_; }
  // The final weights (EMA when enabled; the best scored ones under validate_on), saved, and the loss curve.
  TrainResult finish();

 private:
  void checkpoint(int64_t steps_done, std::shared_ptr<VelocityModel> kept = nullptr);
  // The held-out loss of the current weights, keeping them when they are the best so far.
  double validate(int64_t steps_done);
  // Scores the current weights (EMA when enabled) into `line`, draws their samples into samples.png,
  // and keeps them as best.safetensors when options.evaluation's kept measure improved.
  void evaluate(int64_t steps_done, nlohmann::json& line);
  // A line of metrics.jsonl, and each of its numbers a TensorBoard scalar.
  void log(const nlohmann::json& line);
  // Training time so far, counting what the run had behind it when it resumed.
  double elapsed_seconds() const { return seconds_before_ + progress_->seconds(); }

  std::shared_ptr<VelocityModel> model_;
  const TrainOptions& options_;
  std::string run_dir_, state_path_;
  ProcessGroup* group_;
  bool writer_;  // rank 0 alone writes logs and checkpoints
  torch::optim::AdamW optimizer_;  // with the native engine, only the vessel of fused_'s state in the files
  std::unique_ptr<Ema> ema_;
  std::optional<FusedAdamW> fused_;  // the native engine's optimizer
  TrainResult result_;
  TrainingProgress position_;  // the next step, the loss of the log interval so far, the best held-out score
  std::optional<SeedStreams> streams_;
  double share_ = 1;  // this rank's weight in the summed gradient: its rows / all rows
  std::optional<GradientBuckets> buckets_;
  std::optional<MetricsLog> metrics_;
  std::optional<TensorBoardEvents> events_;
  std::optional<double> best_score_;  // of best.safetensors, under options.evaluation's kept measure
  int64_t saved_step_ = -1;  // a stop at a checkpoint step saves once
  std::optional<StopSignals> stop_;  // caught from the first step on: set-up stops at once
  std::optional<Progress> progress_;
  // The step under way, and the log interval's time spent waiting for collectives once backward
  // was done (the part of the all-reduce that did not overlap computation).
  double lr_ = 0, loss_ = 0, grad_norm_ = 0;
  bool stopping_ = false;
  std::function<double(VelocityModel&)> held_out_loss_;
  std::shared_ptr<VelocityModel> best_;  // the best-scored weights so far
  bool converged_ = false;
  double wait_seconds_ = 0, interval_start_ = 0, seconds_before_ = 0;
};

}  // namespace flowmatch
