#pragma once
#include <ATen/core/Generator.h>

#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "flowmatch/lr_schedule.h"
#include "flowmatch/time_sampler.h"
#include "flowmatch/training_pairs.h"
#include "flowmatch/velocity_model.h"

namespace flowmatch {

struct TrainOptions {
  std::string objective = "flow-matching";  // flow-matching | meanflow (needs a model with an interval input)
  double interval_fraction = 0.25;          // meanflow: share of rows with s < t (the rest are s = t)
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
  int64_t checkpoint_every = 0;  // also write the weights every N steps; 0 = only at the end
  std::map<std::string, std::string> model_metadata;  // stored in every weights file written

  void validate() const;  // throws Error naming the bad option
};

struct TrainResult {
  std::shared_ptr<VelocityModel> model;  // the weights to sample with: EMA when enabled
  std::vector<double> log_steps, log_losses;
  double seconds = 0;
};

// Trains `model` on batches from `pairs` with the conditional flow-matching (or MeanFlow) loss and
// AdamW. With a non-empty
// run_dir, appends metrics.jsonl every log_every steps and writes model.safetensors (atomically)
// at checkpoints and at the end. A non-finite loss stops training with an Error naming the step.
TrainResult train_flow(std::shared_ptr<VelocityModel> model, const TrainingPairs& pairs, const TrainOptions& options,
                       at::Generator& gen, const std::string& run_dir);

}  // namespace flowmatch
