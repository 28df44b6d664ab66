#pragma once
#include <ATen/core/Tensor.h>
#include <torch/nn/module.h>
#include <torch/optim/optimizer.h>

#include <string>
#include <vector>

#include "flowmatch/train/ema.h"

namespace flowmatch {

// Where a run stands between two steps: the next step to take, and the loss summed over the steps
// of the current log interval (so a resumed run logs the same means).
struct TrainingProgress {
  int64_t step = 0;
  double loss_sum = 0;
  int64_t loss_count = 0;
  // With held-out rows (training_loop.h): the step whose weights scored best so far (0: none yet),
  // its held-out loss, and the log lines since it.
  int64_t best_step = 0;
  double validation_loss = 0;
  int64_t lines_since_best = 0;
  double seconds = 0;  // training time up to `step`, over every process that ran it (metrics' elapsed_s)
};

// The whole state of a training run at a step boundary, so that a resumed run continues exactly as
// if it had never stopped: the model's parameters and buffers, the optimizer's state (LibTorch's
// own archive of it, kept as bytes), the EMA averages, the states of the generators that draw data,
// noise and times (one per seed stream, seed_streams.h: "generator", then "generator.1", ...), the
// progress, and the best-scored weights so far when there are any ("best." + their names). A
// safetensors file, written atomically.
void save_training_state(const std::string& path, torch::nn::Module& model, torch::optim::Optimizer& optimizer,
                         Ema* ema, const std::vector<at::Tensor>& generator_states, const TrainingProgress& progress,
                         torch::nn::Module* best = nullptr);

// The progress a state was saved at, read from its metadata, to see whether a run has steps left.
TrainingProgress read_training_progress(const std::string& path);

// Restores a state into objects built as for the original run (same model config and options),
// and sets `generator_states` to the generator states in stream order; the best weights, when the
// state holds them (best_step > 0), go into `best`, a model of the same config. Throws Error naming
// the file when anything is missing or does not fit.
TrainingProgress load_training_state(const std::string& path, torch::nn::Module& model,
                                     torch::optim::Optimizer& optimizer, Ema* ema,
                                     std::vector<at::Tensor>& generator_states, torch::nn::Module* best = nullptr);

}  // namespace flowmatch
