#pragma once
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "flowmatch/model/velocity_model.h"
#include "flowmatch/objective/objective_registry.h"
#include "flowmatch/train/lr_schedule.h"

namespace flowmatch {

class SampleEvaluation;

// What a training run takes (trainer.h) and what it gives back.
struct TrainOptions {
  ObjectiveOptions objective;    // flow-matching or meanflow, its path and its times
  double label_dropout = 0.1;    // class-conditional models: share of labels replaced by "no class"
  double context_dropout = 0.0;  // context models: share of rows trained as "no context" (for --cfg)
  int64_t patience = 20;         // data with held-out rows: stop after this many log lines without a better held-out loss
  int64_t steps = 8000;
  int64_t batch = 512;
  LrSchedule lr;                 // peak, warm-up and decay; total is set to `steps`
  double weight_decay = 0.0;     // AdamW
  double beta1 = 0.9, beta2 = 0.999;
  double grad_clip = 1.0;        // max global gradient norm; 0 = off
  double ema = 0.999;            // EMA decay; 0 = off
  int64_t log_every = 100;       // metrics.jsonl and plain progress lines, and the held-out loss
  int64_t checkpoint_every = 1000;  // also save weights and training state every N steps; 0 = only at the end
  bool resume = false;              // continue from run_dir's training state, exactly
  int64_t shards = 0;               // the batch is drawn as this many seed streams (seed_streams.h); 0 = one per process
  // auto, native or torch: what computes the steps (trainer.h: training_engine). The native engine
  // runs on LibTorch's thread count (core/threads.h: Workload::NativeKernels).
  std::string engine = "auto";
  std::map<std::string, std::string> model_metadata;  // stored in every weights file written
  // --eval-every: the samples' scores at log lines, and best.safetensors (training_evaluation.h); none when null.
  std::shared_ptr<const SampleEvaluation> evaluation;
  bool tensorboard = false;  // also a TensorBoard event file in the run folder (io/tensorboard_events.h)

  void validate() const;  // throws Error naming the bad option
};

struct TrainResult {
  std::shared_ptr<VelocityModel> model;  // the weights to sample with: EMA when enabled
  std::vector<double> log_steps, log_losses;
  double seconds = 0;
  int64_t steps = 0;               // steps done: fewer than asked when the held-out loss stopped improving
  int64_t best_step = 0;           // with held-out rows: the step whose weights were kept
  double validation_loss = 0;      // and their held-out loss
  std::string engine;              // the engine that trained: native or torch
  std::map<std::string, double> scores;  // with an evaluation: its last scores
  int64_t best_eval_step = 0;            // and, with a kept measure, the step of best.safetensors
};

}  // namespace flowmatch
