#include "flowmatch/train/training_loop.h"

#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <iostream>

#include "flowmatch/core/error.h"
#include "flowmatch/io/atomic_file.h"
#include "flowmatch/io/safetensors.h"
#include "flowmatch/model/model_registry.h"
#include "flowmatch/train/run_dir.h"
#include "flowmatch/train/training_evaluation.h"

namespace flowmatch {

namespace {
// A fresh model of the same config holding the EMA average (or, without EMA, a copy of the weights).
std::shared_ptr<VelocityModel> snapshot(const std::shared_ptr<VelocityModel>& model, const Ema* ema) {
  auto copy = make_model(model->config());
  torch::NoGradGuard no_grad;
  auto copy_all = [](const std::vector<at::Tensor>& source, const std::vector<at::Tensor>& target) {
    for (size_t i = 0; i < source.size(); ++i) target[i].copy_(source[i]);
  };
  if (ema) ema->copy_to(*copy);
  else copy_all(model->parameters(), copy->parameters());
  copy_all(model->buffers(), copy->buffers());
  return copy;
}

// The weights to keep: the EMA average copied into a fresh model of the same config, or the model.
std::shared_ptr<VelocityModel> weights_to_keep(const std::shared_ptr<VelocityModel>& model, const Ema* ema) {
  return ema ? snapshot(model, ema) : model;
}

std::map<std::string, std::string> with_step(std::map<std::string, std::string> metadata, int64_t step) {
  metadata["step"] = std::to_string(step);
  return metadata;
}

std::string exact_text(double value) {  // a double that reads back to the same bits
  char text[32];
  std::snprintf(text, sizeof text, "%.17g", value);
  return text;
}

// "fd 5.2134  class_accuracy 0.9120": the scores for the progress line.
std::string describe_scores(const std::map<std::string, double>& scores) {
  std::string text;
  char value[32];
  for (const auto& [name, score] : scores) {
    std::snprintf(value, sizeof value, "%.4g", score);
    text += (text.empty() ? "" : "  ") + name + " " + value;
  }
  return text;
}
}  // namespace

TrainingLoop::TrainingLoop(std::shared_ptr<VelocityModel> model, const TrainOptions& options, at::Generator& gen,
                           std::string run_dir, ProcessGroup* group)
    : model_(std::move(model)),
      options_(options),
      run_dir_(std::move(run_dir)),
      state_path_(run_dir_ + "/" + RunDir::kTrainingState),
      group_(group),
      writer_(!group || group->rank() == 0),
      optimizer_(model_->parameters(), torch::optim::AdamWOptions(options.lr.peak)
                                           .betas({options.beta1, options.beta2})
                                           .weight_decay(options.weight_decay)),
      ema_(options.ema > 0 ? std::make_unique<Ema>(*model_, options.ema) : nullptr) {
  model_->train();
  int world = group ? group->size() : 1;
  std::vector<at::Tensor> saved_streams;
  if (options.resume) {
    if (run_dir_.empty()) throw Error("resuming needs the run folder");
    auto best = make_model(model_->config());
    position_ = load_training_state(state_path_, *model_, optimizer_, ema_.get(), saved_streams, best.get());
    if (position_.best_step > 0) {  // held-out rows: the best weights so far (their score is in position_)
      best_ = best;
      best_->eval();
    }
    if (position_.step > options.steps)
      throw Error(state_path_ + " is at step " + std::to_string(position_.step) + ", past the run's " +
                  std::to_string(options.steps) + " steps");
    seconds_before_ = position_.seconds;
    if (writer_)
      std::cerr << "resuming at step " << position_.step << " of " << options.steps << " (" << int64_t(position_.seconds)
                << " s of training behind it) from " << state_path_ << "\n";
  }
  if (options.engine == "native") {  // AdamW, clipping and the EMA in one pass over flat buffers
    fused_.emplace(model_->parameters(), options, ema_.get(), at::get_num_threads());
    fused_->load_from(optimizer_);
  }
  int64_t shards = shard_count(options.shards, int64_t(saved_streams.size()), world, options.batch);
  if (writer_ && !saved_streams.empty() && shards > int64_t(saved_streams.size()))
    std::cerr << "resuming on " << world << " processes a run drawn as " << saved_streams.size() << " shard(s): "
              << shards - int64_t(saved_streams.size()) << " fresh seed stream(s) join, so the data differ from the run's\n";
  streams_.emplace(gen, shards, group ? group->rank() : 0, world);
  streams_->restore(saved_streams);
  share_ = double(streams_->own().size()) / double(shards);
  if (group) {
    std::vector<at::Tensor> weights = model_->parameters();
    for (const auto& buffer : model_->buffers()) weights.push_back(buffer);
    torch::NoGradGuard no_grad;
    group->broadcast(weights, 0, "broadcasting rank 0's weights");
    buckets_.emplace(model_->parameters(), *group);
    if (writer_)
      std::cerr << "gradient all-reduce over " << world << " processes: " << buckets_->bucket_count() << " buckets, "
                << buckets_->bytes_per_step() << " bytes per step\n";
  }
  if (options.evaluation && run_dir_.empty()) throw Error("evaluating while training needs a run folder for its pictures");
  if (!run_dir_.empty() && writer_) {
    metrics_.emplace(run_dir_ + "/" + RunDir::kMetrics, position_.step, result_.log_steps, result_.log_losses);
    if (options.tensorboard) events_.emplace(run_dir_);
    const std::string best = run_dir_ + "/" + RunDir::kBest;  // a resumed run beats the best it had kept
    std::optional<Measure> kept = options.evaluation ? options.evaluation->kept() : std::nullopt;
    if (options.resume && kept && std::filesystem::exists(best)) {
      std::map<std::string, std::string> metadata = read_safetensors(best).metadata;
      if (metadata["flowmatch.best_measure"] == kept->name && metadata.count("flowmatch.best_score") && metadata.count("step")) {
        best_score_ = std::stod(metadata["flowmatch.best_score"]);
        result_.best_eval_step = std::stoll(metadata["step"]);
      }
    }
  }
  stop_.emplace();
  progress_.emplace("train", options.steps, options.log_every);
  if (!writer_) progress_->mute();
  progress_->resume_at(position_.step);
  interval_start_ = progress_->seconds();
}

void TrainingLoop::begin_step(int64_t step) {
  lr_ = options_.lr.at(step);
  for (auto& param_group : optimizer_.param_groups())
    static_cast<torch::optim::AdamWOptions&>(param_group.options()).lr(lr_);
}

void TrainingLoop::update(const at::Tensor& loss, int64_t step) {
  if (buckets_) buckets_->begin(share_);  // which clears the gradients
  else if (!fused_) optimizer_.zero_grad();  // the fused optimizer leaves them zeroed
  loss.backward();
  loss_ = loss.item<double>();
  stopping_ = stop_->requested();
  if (group_) {  // every rank: the summed gradients, the batch's mean loss, and whether any rank was asked to stop
    double waiting_since = progress_->seconds();
    buckets_->finish();
    std::vector<at::Tensor> agreed{torch::tensor({loss_ * share_, stopping_ ? 1.0 : 0.0}, torch::kDouble)};
    group_->all_reduce_sum(agreed, "agreeing on step " + std::to_string(step + 1) + "'s loss");
    loss_ = agreed[0][0].item<double>();
    stopping_ = agreed[0][1].item<double>() > 0;
    wait_seconds_ += progress_->seconds() - waiting_since;
  }
  bool clipping = options_.grad_clip > 0;
  if (fused_) grad_norm_ = clipping ? fused_->gradient_norm() : 0.0;
  else grad_norm_ = clipping ? torch::nn::utils::clip_grad_norm_(model_->parameters(), options_.grad_clip) : 0.0;
  if (!std::isfinite(loss_) || !std::isfinite(grad_norm_))
    throw Error("training diverged at step " + std::to_string(step + 1) + " (non-finite loss or gradient); try a lower --lr");
  if (fused_) {
    double scale = clipping ? std::min(1.0, options_.grad_clip / (grad_norm_ + 1e-6)) : 1.0;  // clip_grad_norm_'s
    return fused_->step(lr_, scale, step);
  }
  optimizer_.step();
  if (ema_) ema_->update(step);
}

void TrainingLoop::end_step(int64_t step) {
  position_.loss_sum += loss_;
  ++position_.loss_count;
  progress_->update(step + 1, position_.loss_sum / double(position_.loss_count));  // the log interval's mean, as metrics.jsonl
  bool last = step + 1 == options_.steps;
  if ((step + 1) % options_.log_every == 0 || last) {
    double mean_loss = position_.loss_sum / double(position_.loss_count);
    result_.log_steps.push_back(double(step + 1));
    result_.log_losses.push_back(mean_loss);
    nlohmann::json line = {{"step", step + 1},           {"loss", mean_loss},       {"lr", lr_},
                           {"grad_norm", grad_norm_},    {"it_per_s", progress_->rate()},
                           {"elapsed_s", elapsed_seconds()}};
    if (held_out_loss_) {
      line["validation_loss"] = validate(step + 1);
      line["best_step"] = position_.best_step;
    }
    if (group_) line["allreduce_wait_share"] = wait_seconds_ / (progress_->seconds() - interval_start_);
    const auto& evaluation = options_.evaluation;
    if (evaluation && writer_ && ((step + 1) % evaluation->options().every == 0 || last || converged_))
      evaluate(step + 1, line);
    if (metrics_) log(line);
    position_.loss_sum = 0;
    position_.loss_count = 0;
    wait_seconds_ = 0;
    interval_start_ = progress_->seconds();
  }
  position_.step = step + 1;
  if (options_.checkpoint_every > 0 && position_.step % options_.checkpoint_every == 0 && !last) checkpoint(position_.step);
  if (stopping_ && !last) {
    checkpoint(position_.step);
    throw Stopped(stop_->requested() ? stop_->signal() : SIGTERM,
                  std::string(stop_->requested() ? stop_->name() : "another rank's stop signal") +
                      " received: stopped after step " + std::to_string(position_.step) +
                      (run_dir_.empty() ? "" : " with the state saved in " + run_dir_));
  }
}

void TrainingLoop::evaluate(int64_t steps_done, nlohmann::json& line) {
  std::shared_ptr<VelocityModel> candidate = snapshot(model_, ema_.get());
  candidate->eval();
  const std::string picture = run_dir_ + "/" + RunDir::kSamples;
  const SampleEvaluation& evaluation = *options_.evaluation;
  std::map<std::string, double> scores = evaluation.score(candidate, steps_done, picture);
  for (const auto& [name, score] : scores) line["eval_" + name] = score;
  result_.scores = scores;
  progress_->note(describe_scores(scores));
  if (events_) events_->add_png("samples", steps_done, read_file(picture));
  std::optional<Measure> kept = evaluation.kept();
  if (!kept) return;
  const double score = scores.at(kept->name);
  if (!std::isfinite(score) || (best_score_ && !kept->better(score, *best_score_))) return;
  best_score_ = score;
  std::map<std::string, std::string> metadata = with_step(options_.model_metadata, steps_done);
  metadata["flowmatch.best_measure"] = kept->name;
  metadata["flowmatch.best_score"] = exact_text(score);
  save_model(run_dir_ + "/" + RunDir::kBest, *candidate, metadata);  // atomically, as every weights file
  line["best_eval_step"] = result_.best_eval_step = steps_done;
}

void TrainingLoop::log(const nlohmann::json& line) {
  metrics_->write(line);
  if (!events_) return;
  const int64_t step = line.at("step").get<int64_t>();
  for (const auto& [name, value] : line.items())
    if (name != "step" && value.is_number()) events_->add_scalar(name, step, value.get<double>());
}

void TrainingLoop::validate_on(std::function<double(VelocityModel&)> held_out_loss) { held_out_loss_ = std::move(held_out_loss); }

double TrainingLoop::validate(int64_t steps_done) {
  std::shared_ptr<VelocityModel> candidate = snapshot(model_, ema_.get());
  candidate->eval();
  double loss;
  {
    torch::NoGradGuard no_grad;
    loss = held_out_loss_(*candidate);
  }
  if (!best_ || loss < position_.validation_loss) {
    best_ = candidate;
    position_.best_step = steps_done;
    position_.validation_loss = loss;
    position_.lines_since_best = 0;
  } else if (++position_.lines_since_best >= options_.patience) {
    converged_ = true;
    if (writer_)
      std::cerr << "the held-out loss has not improved for " << options_.patience << " log lines: stopping after step "
                << steps_done << " with step " << position_.best_step << "'s weights (held-out loss " << position_.validation_loss
                << ")\n";
  }
  return loss;
}

// Weights and the whole training state, both atomically: the previous files stay until each new one
// is complete. The ranks' stream states travel under the step's name. `kept`: the weights to save,
// when already built (the final ones).
void TrainingLoop::checkpoint(int64_t steps_done, std::shared_ptr<VelocityModel> kept) {
  if (run_dir_.empty() || steps_done == saved_step_) return;
  saved_step_ = steps_done;
  std::vector<at::Tensor> stream_states = streams_->gather_states(group_, "streams/" + std::to_string(steps_done));
  if (!writer_) return;
  if (!kept) kept = best_ ? best_ : weights_to_keep(model_, ema_.get());
  position_.seconds = elapsed_seconds();
  save_model(run_dir_ + "/" + RunDir::kModel, *kept, with_step(options_.model_metadata, steps_done));
  if (fused_) fused_->save_to(optimizer_);  // the file keeps AdamW's state as LibTorch's AdamW keeps it
  save_training_state(state_path_, *model_, optimizer_, ema_.get(), stream_states, position_, best_.get());
}

TrainResult TrainingLoop::finish() {
  progress_->finish();
  result_.seconds = progress_->seconds();
  if (!converged_) position_.step = options_.steps;
  result_.steps = position_.step;
  result_.best_step = position_.best_step;
  result_.validation_loss = position_.validation_loss;
  result_.model = best_ ? best_ : weights_to_keep(model_, ema_.get());
  checkpoint(position_.step, result_.model);
  result_.model->eval();
  return result_;
}

}  // namespace flowmatch
