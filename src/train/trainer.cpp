#include "flowmatch/train/trainer.h"

#include <torch/torch.h>

#include <cerrno>
#include <cmath>
#include <cstring>
#include <fstream>
#include <iostream>
#include <optional>

#include "flowmatch/core/error.h"
#include "flowmatch/core/progress.h"
#include "flowmatch/core/stop_signals.h"
#include "flowmatch/dist/gradient_buckets.h"
#include "flowmatch/dist/seed_streams.h"
#include "flowmatch/model/model_registry.h"
#include "flowmatch/objective/cfm_loss.h"
#include "flowmatch/objective/meanflow_loss.h"
#include "flowmatch/objective/scheduler.h"
#include "flowmatch/train/ema.h"
#include "flowmatch/train/run_dir.h"
#include "flowmatch/train/training_state.h"

namespace flowmatch {

void TrainOptions::validate() const {
  if (objective != "flow-matching" && objective != "meanflow")
    throw Error("unknown objective '" + objective + "' (choose flow-matching or meanflow)");
  if (!(interval_fraction >= 0 && interval_fraction <= 1)) throw Error("--interval-fraction must lie in [0, 1]");
  if (!(label_dropout >= 0 && label_dropout <= 1)) throw Error("--label-dropout must lie in [0, 1]");
  make_scheduler(scheduler, poly_exponent);
  time_sampler.validate();
  lr.validate();
  if (steps <= 0) throw Error("--steps must be positive, got " + std::to_string(steps));
  if (batch <= 0) throw Error("--batch must be positive, got " + std::to_string(batch));
  if (!(weight_decay >= 0)) throw Error("--weight-decay must be >= 0");
  if (!(beta1 >= 0 && beta1 < 1 && beta2 >= 0 && beta2 < 1)) throw Error("AdamW betas must lie in [0, 1)");
  if (!(grad_clip >= 0)) throw Error("--grad-clip must be >= 0");
  if (!(ema >= 0 && ema < 1)) throw Error("--ema must lie in [0, 1)");
  if (log_every <= 0) throw Error("--log-every must be positive");
  if (checkpoint_every < 0) throw Error("--checkpoint-every must be >= 0");
  if (shards < 0) throw Error("--shards must be >= 0");
}

namespace {
// The weights to keep: the EMA average copied into a fresh model of the same config, or the model.
std::shared_ptr<VelocityModel> weights_to_keep(const std::shared_ptr<VelocityModel>& model, const Ema* ema) {
  if (!ema) return model;
  auto averaged = make_model(model->config());
  ema->copy_to(*averaged);
  torch::NoGradGuard no_grad;
  auto source = model->buffers(), target = averaged->buffers();
  for (size_t i = 0; i < source.size(); ++i) target[i].copy_(source[i]);
  return averaged;
}

// A stream that failed (disk full, file-size limit) stops training with the reason, rather than
// losing log lines silently.
void check_written(const std::ofstream& out, const std::string& path) {
  if (!out) throw Error("cannot write " + path + ": " + std::strerror(errno));
}

// metrics.jsonl: new, or on resume cut back to the lines of steps up to `step` (which also go into
// the result's loss curve), and open for appending.
std::ofstream open_metrics(const std::string& path, int64_t step, TrainResult& result) {
  std::string kept;
  if (step > 0) {
    std::ifstream old(path);
    std::string line;
    while (std::getline(old, line)) {
      nlohmann::json entry = nlohmann::json::parse(line, nullptr, false);
      if (entry.is_discarded() || !entry.contains("step") || entry["step"].get<int64_t>() > step) break;
      result.log_steps.push_back(entry["step"].get<double>());
      result.log_losses.push_back(entry.value("loss", 0.0));
      kept += line + "\n";
    }
  }
  std::ofstream metrics(path, std::ios::trunc);
  check_written(metrics, path);
  metrics << kept << std::flush;
  check_written(metrics, path);
  return metrics;
}

// Label dropout, so that one network learns v(x, t | y) and the unconditional v(x, t) that
// classifier-free guidance needs: each label becomes K ("no class") with probability p.
at::Tensor drop_labels(const at::Tensor& labels, double p, int64_t classes, at::Generator& gen) {
  at::Tensor dropped = torch::rand({labels.size(0)}, gen) < p;
  return torch::where(dropped, torch::full_like(labels, classes), labels);
}

std::map<std::string, std::string> with_step(std::map<std::string, std::string> metadata, int64_t step) {
  metadata["step"] = std::to_string(step);
  return metadata;
}

// One step's rows: the pairs, their labels (some dropped to "no class"; undefined when the model
// has no classes) and their times (s is used by meanflow only).
struct StepRows {
  PairBatch pairs;
  at::Tensor labels;
  IntervalTimes times;
};

// Rows of one shard, drawn from its generator in a fixed order: pairs, dropped labels, times.
StepRows draw_rows(const TrainingPairs& pairs, const TrainOptions& options, int64_t classes, int64_t rows,
                   at::Generator& gen) {
  StepRows step;
  step.pairs = pairs.draw(rows, gen);
  if (classes > 0) step.labels = drop_labels(step.pairs.labels, options.label_dropout, classes, gen);
  if (options.objective == "meanflow")
    step.times = draw_interval_times(options.time_sampler, options.interval_fraction, rows, gen);
  else
    step.times.t = options.time_sampler(rows, gen);
  return step;
}

// This rank's shards of the step, one after another.
StepRows draw_step(const TrainingPairs& pairs, const TrainOptions& options, int64_t classes, SeedStreams& streams) {
  int64_t rows = options.batch / streams.shards();
  if (streams.own().size() == 1) return draw_rows(pairs, options, classes, rows, streams.generator(streams.own()[0]));
  std::vector<StepRows> parts;
  for (int64_t shard : streams.own()) parts.push_back(draw_rows(pairs, options, classes, rows, streams.generator(shard)));
  auto cat = [&](auto field) {
    std::vector<at::Tensor> pieces;
    for (const auto& part : parts) pieces.push_back(field(part));
    return pieces[0].defined() ? torch::cat(pieces) : at::Tensor();
  };
  StepRows step;
  step.pairs.x0 = cat([](const StepRows& r) { return r.pairs.x0; });
  step.pairs.x1 = cat([](const StepRows& r) { return r.pairs.x1; });
  step.labels = cat([](const StepRows& r) { return r.labels; });
  step.times.s = cat([](const StepRows& r) { return r.times.s; });
  step.times.t = cat([](const StepRows& r) { return r.times.t; });
  return step;
}
}  // namespace

TrainResult train_flow(std::shared_ptr<VelocityModel> model, const TrainingPairs& pairs, const TrainOptions& options_in,
                       at::Generator& gen, const std::string& run_dir, ProcessGroup* group) {
  TrainOptions options = options_in;
  options.lr.total = options.steps;
  options.validate();
  if (model->sample_shape() != pairs.sample_shape())
    throw Error("the model takes samples of shape " + describe_shape(model->sample_shape()) + " but the data (" +
                pairs.describe() + ") is " + describe_shape(pairs.sample_shape()));
  if (model->classes() > 0 && model->classes() != pairs.classes())
    throw Error("the model is conditioned on " + std::to_string(model->classes()) + " classes but the data (" +
                pairs.describe() + ") has " + std::to_string(pairs.classes()));
  bool meanflow = options.objective == "meanflow";
  if (meanflow && !model->takes_interval())
    throw Error("the meanflow objective needs a model with an interval input (mlp with interval = true)");
  int world = group ? group->size() : 1;
  bool writer = !group || group->rank() == 0;  // rank 0 alone writes logs and checkpoints
  auto scheduler = make_scheduler(options.scheduler, options.poly_exponent);
  model->train();
  torch::optim::AdamW optimizer(model->parameters(), torch::optim::AdamWOptions(options.lr.peak)
                                                         .betas({options.beta1, options.beta2})
                                                         .weight_decay(options.weight_decay));
  std::unique_ptr<Ema> ema = options.ema > 0 ? std::make_unique<Ema>(*model, options.ema) : nullptr;
  TrainResult result;
  TrainingProgress position;  // the next step, and the loss of the log interval so far
  std::string state_path = run_dir + "/" + RunDir::kTrainingState;
  std::vector<at::Tensor> saved_streams;
  if (options.resume) {
    if (run_dir.empty()) throw Error("resuming needs the run folder");
    position = load_training_state(state_path, *model, optimizer, ema.get(), saved_streams);
    if (position.step > options.steps)
      throw Error(state_path + " is at step " + std::to_string(position.step) + ", past the run's " +
                  std::to_string(options.steps) + " steps");
  }
  int64_t shards = shard_count(options.shards, int64_t(saved_streams.size()), world, options.batch);
  if (writer && !saved_streams.empty() && shards > int64_t(saved_streams.size()))
    std::cerr << "resuming on " << world << " processes a run drawn as " << saved_streams.size() << " shard(s): "
              << shards - int64_t(saved_streams.size()) << " fresh seed stream(s) join, so the data differ from the run's\n";
  SeedStreams streams(gen, shards, group ? group->rank() : 0, world);
  streams.restore(saved_streams);
  // This rank's weight in the summed gradient: its rows / all rows.
  double share = double(streams.own().size()) / double(shards);
  std::optional<GradientBuckets> buckets;
  if (group) {
    std::vector<at::Tensor> weights = model->parameters();
    for (const auto& buffer : model->buffers()) weights.push_back(buffer);
    torch::NoGradGuard no_grad;
    group->broadcast(weights, 0, "broadcasting rank 0's weights");
    buckets.emplace(model->parameters(), *group);
    if (writer)
      std::cerr << "gradient all-reduce over " << world << " processes: " << buckets->bucket_count() << " buckets, "
                << buckets->bytes_per_step() << " bytes per step\n";
  }
  std::ofstream metrics;
  if (!run_dir.empty() && writer) metrics = open_metrics(run_dir + "/" + RunDir::kMetrics, position.step, result);
  at::Tensor labels;  // this step's labels, some dropped to "no class"; undefined for an unconditional model
  auto model_fn = [&](const at::Tensor& x, const at::Tensor& t) {
    return labels.defined() ? model->forward_class(x, t, labels) : model->forward(x, t);
  };
  // Weights and the whole training state, both atomically: the previous files stay until each new one is complete.
  // A stop at a checkpoint step saves once: the ranks' stream states travel under the step's name.
  int64_t saved_step = -1;
  // `kept`: the weights to save, when already built (the final ones).
  auto checkpoint = [&](int64_t steps_done, std::shared_ptr<VelocityModel> kept = nullptr) {
    if (run_dir.empty() || steps_done == saved_step) return;
    saved_step = steps_done;
    std::vector<at::Tensor> stream_states = streams.gather_states(group, "streams/" + std::to_string(steps_done));
    if (!writer) return;
    if (!kept) kept = weights_to_keep(model, ema.get());
    save_model(run_dir + "/" + RunDir::kModel, *kept, with_step(options.model_metadata, steps_done));
    save_training_state(state_path, *model, optimizer, ema.get(), stream_states, position);
  };
  StopSignals stop;

  Progress progress("train", options.steps, options.log_every);
  if (!writer) progress.mute();
  progress.resume_at(position.step);
  double& loss_sum = position.loss_sum;
  int64_t& loss_count = position.loss_count;
  // Time this log interval spent waiting for collectives once backward was done: the part of the
  // all-reduce that did not overlap computation.
  double wait_seconds = 0, interval_start = progress.seconds();
  for (int64_t step = position.step; step < options.steps; ++step) {
    double lr = options.lr.at(step);
    for (auto& param_group : optimizer.param_groups())
      static_cast<torch::optim::AdamWOptions&>(param_group.options()).lr(lr);
    StepRows rows = draw_step(pairs, options, model->classes(), streams);
    labels = rows.labels;
    at::Tensor loss = meanflow ? meanflow_loss(*model, *scheduler, rows.pairs.x0, rows.pairs.x1, rows.times)
                               : cfm_loss(model_fn, *scheduler, rows.pairs.x0, rows.pairs.x1, rows.times.t);
    if (buckets) buckets->begin(share);  // which clears the gradients
    else optimizer.zero_grad();
    loss.backward();
    double value = loss.item<double>();
    bool stopping = stop.requested();
    if (group) {  // every rank: the summed gradients, the batch's mean loss, and whether any rank was asked to stop
      double waiting_since = progress.seconds();
      buckets->finish();
      std::vector<at::Tensor> agreed{torch::tensor({value * share, stopping ? 1.0 : 0.0}, torch::kDouble)};
      group->all_reduce_sum(agreed, "agreeing on step " + std::to_string(step + 1) + "'s loss");
      value = agreed[0][0].item<double>();
      stopping = agreed[0][1].item<double>() > 0;
      wait_seconds += progress.seconds() - waiting_since;
    }
    double grad_norm = options.grad_clip > 0 ? torch::nn::utils::clip_grad_norm_(model->parameters(), options.grad_clip) : 0.0;
    if (!std::isfinite(value) || !std::isfinite(grad_norm))
      throw Error("training diverged at step " + std::to_string(step + 1) + " (non-finite loss or gradient); try a lower --lr");
    optimizer.step();
    if (ema) ema->update(step);
    loss_sum += value;
    ++loss_count;
    progress.update(step + 1, value);
    bool last = step + 1 == options.steps;
    if ((step + 1) % options.log_every == 0 || last) {
      double mean_loss = loss_sum / double(loss_count);
      result.log_steps.push_back(double(step + 1));
      result.log_losses.push_back(mean_loss);
      if (metrics.is_open()) {
        nlohmann::json line = {{"step", step + 1},           {"loss", mean_loss},     {"lr", lr},
                               {"grad_norm", grad_norm},     {"it_per_s", progress.rate()},
                               {"elapsed_s", progress.seconds()}};
        if (group) line["allreduce_wait_share"] = wait_seconds / (progress.seconds() - interval_start);
        metrics << line.dump() << '\n' << std::flush;
        check_written(metrics, run_dir + "/" + RunDir::kMetrics);
      }
      loss_sum = 0;
      loss_count = 0;
      wait_seconds = 0;
      interval_start = progress.seconds();
    }
    position.step = step + 1;
    if (options.checkpoint_every > 0 && position.step % options.checkpoint_every == 0 && !last) checkpoint(position.step);
    if (stopping && !last) {
      checkpoint(position.step);
      throw Error(std::string(stop.requested() ? stop.name() : "another rank's stop signal") +
                  " received: stopped after step " + std::to_string(position.step) +
                  (run_dir.empty() ? "" : " with the state saved; continue with flowmatch train --resume " + run_dir));
    }
  }
  progress.finish();
  result.seconds = progress.seconds();
  position.step = options.steps;
  result.model = weights_to_keep(model, ema.get());
  checkpoint(options.steps, result.model);
  result.model->eval();
  return result;
}

}  // namespace flowmatch
