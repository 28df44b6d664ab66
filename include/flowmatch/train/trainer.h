#pragma once
#include <ATen/core/Generator.h>

#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "flowmatch/dist/process_group.h"
#include "flowmatch/model/velocity_model.h"
#include "flowmatch/objective/time_sampler.h"
#include "flowmatch/objective/training_pairs.h"
#include "flowmatch/train/lr_schedule.h"

namespace flowmatch {

struct TrainOptions {
  std::string objective = "flow-matching";  // flow-matching | meanflow (needs a model with an interval input)
  double interval_fraction = 0.25;          // meanflow: share of rows with s < t (the rest are s = t)
  double label_dropout = 0.1;               // class-conditional models: share of labels replaced by "no class"
  std::string scheduler = "condot";
  double poly_exponent = 2.0;
  TimeSampler time_sampler;
  int64_t steps = 8000;
  int64_t batch = 512;
  LrSchedule lr;                 // peak, warm-up and decay; total is set to `steps`
  double weight_decay = 0.0;     // AdamW
  double beta1 = 0.9, beta2 = 0.999;
  double grad_clip = 1.0;        // max global gradient norm; 0 = off
  double ema = 0.999;            // EMA decay; 0 = off
  int64_t log_every = 100;       // metrics.jsonl and plain progress lines
  int64_t checkpoint_every = 1000;  // also save weights and training state every N steps; 0 = only at the end
  bool resume = false;              // continue from run_dir's training state, exactly
  int64_t shards = 0;               // the batch is drawn as this many seed streams (seed_streams.h); 0 = one per process
  std::map<std::string, std::string> model_metadata;  // stored in every weights file written

  void validate() const;  // throws Error naming the bad option
};

struct TrainResult {
  std::shared_ptr<VelocityModel> model;  // the weights to sample with: EMA when enabled
  std::vector<double> log_steps, log_losses;
  double seconds = 0;
};

// Trains `model` on batches from `pairs` with the conditional flow-matching (or MeanFlow) loss and
// AdamW. With a non-empty run_dir, appends metrics.jsonl every log_every steps and writes
// model.safetensors and training_state.safetensors (each atomically) every checkpoint_every steps
// and at the end. With options.resume it first restores run_dir's training state, so the run ends
// with the same bytes as one never interrupted (same thread count). SIGINT or SIGTERM saves both
// after the current step and stops with an Error saying how to resume. A non-finite loss or
// gradient stops training with an Error naming the step; the last checkpoint stays as it was.
//
// With a process group of W ranks, every rank calls this with the same arguments. Rank 0's weights
// are broadcast first; each rank draws its shards of every batch (seed_streams.h); gradients are
// summed during backward (gradient_buckets.h); the ranks agree on the loss and on stopping after
// every step. Rank 0 alone writes to run_dir; every rank reads it to resume (on several machines, a
// shared folder). A resumed run takes any number of processes: with at
// most as many as the run has shards, it continues exactly; more add fresh seed streams.
// A rank that dies or goes silent stops the others with an Error naming it (process_group.h).
TrainResult train_flow(std::shared_ptr<VelocityModel> model, const TrainingPairs& pairs, const TrainOptions& options,
                       at::Generator& gen, const std::string& run_dir, ProcessGroup* group = nullptr);

}  // namespace flowmatch
