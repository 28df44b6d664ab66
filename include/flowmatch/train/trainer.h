#pragma once
#include <ATen/core/Generator.h>

#include <memory>
#include <string>

#include "flowmatch/dist/process_group.h"
#include "flowmatch/model/velocity_model.h"
#include "flowmatch/objective/training_pairs.h"
#include "flowmatch/train/training_options.h"

namespace flowmatch {

// Trains `model` on batches from `pairs` with the objective's loss (flow matching, MeanFlow) and
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
// The engine that trains `model` under options.engine: "native" (model/engine.h: float32 seed-mlp
// and mlp on the native MLP engine, the unet with Winograd convolutions; both with the fused
// optimizer of fused_adamw.h) or "torch" (LibTorch's autograd and AdamW). auto picks native where
// it runs. MeanFlow's loss takes a Jacobian-vector product through
// the network, which only the LibTorch module gives: native refuses it and auto picks torch.
std::string training_engine(const VelocityModel& model, const TrainOptions& options);

// Roughly the memory training `model` at `batch` takes: weights, gradients, AdamW's two moments and
// the EMA (5 copies of the parameters), and each row's activations with their gradients.
double training_memory_bytes(const VelocityModel& model, int64_t batch);

TrainResult train_flow(std::shared_ptr<VelocityModel> model, const TrainingPairs& pairs, const TrainOptions& options,
                       at::Generator& gen, const std::string& run_dir, ProcessGroup* group = nullptr);

}  // namespace flowmatch
