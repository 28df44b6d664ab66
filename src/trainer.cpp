#include "flowmatch/trainer.h"

#include <torch/torch.h>

#include <cerrno>
#include <cmath>
#include <cstring>
#include <fstream>

#include "flowmatch/cfm_loss.h"
#include "flowmatch/ema.h"
#include "flowmatch/error.h"
#include "flowmatch/meanflow_loss.h"
#include "flowmatch/model_registry.h"
#include "flowmatch/progress.h"
#include "flowmatch/run_dir.h"
#include "flowmatch/scheduler.h"
#include "flowmatch/stop_signals.h"
#include "flowmatch/training_state.h"

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
}  // namespace

TrainResult train_flow(std::shared_ptr<VelocityModel> model, const TrainingPairs& pairs, const TrainOptions& options_in,
                       at::Generator& gen, const std::string& run_dir) {
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
  auto scheduler = make_scheduler(options.scheduler, options.poly_exponent);
  model->train();
  torch::optim::AdamW optimizer(model->parameters(), torch::optim::AdamWOptions(options.lr.peak)
                                                         .betas({options.beta1, options.beta2})
                                                         .weight_decay(options.weight_decay));
  std::unique_ptr<Ema> ema = options.ema > 0 ? std::make_unique<Ema>(*model, options.ema) : nullptr;
  TrainResult result;
  TrainingProgress position;  // the next step, and the loss of the log interval so far
  std::string state_path = run_dir + "/" + RunDir::kTrainingState;
  if (options.resume) {
    if (run_dir.empty()) throw Error("resuming needs the run folder");
    position = load_training_state(state_path, *model, optimizer, ema.get(), gen);
    if (position.step > options.steps)
      throw Error(state_path + " is at step " + std::to_string(position.step) + ", past the run's " +
                  std::to_string(options.steps) + " steps");
  }
  std::ofstream metrics;
  if (!run_dir.empty()) metrics = open_metrics(run_dir + "/" + RunDir::kMetrics, position.step, result);
  at::Tensor labels;  // this step's labels, some dropped to "no class"; undefined for an unconditional model
  auto model_fn = [&](const at::Tensor& x, const at::Tensor& t) {
    return labels.defined() ? model->forward_class(x, t, labels) : model->forward(x, t);
  };
  // Weights and the whole training state, both atomically: the previous files stay until each new one is complete.
  auto checkpoint = [&](int64_t steps_done) {
    if (run_dir.empty()) return;
    save_model(run_dir + "/" + RunDir::kModel, *weights_to_keep(model, ema.get()), with_step(options.model_metadata, steps_done));
    save_training_state(state_path, *model, optimizer, ema.get(), gen, position);
  };
  StopSignals stop;

  Progress progress("train", options.steps, options.log_every);
  progress.resume_at(position.step);
  double& loss_sum = position.loss_sum;
  int64_t& loss_count = position.loss_count;
  for (int64_t step = position.step; step < options.steps; ++step) {
    double lr = options.lr.at(step);
    for (auto& group : optimizer.param_groups()) static_cast<torch::optim::AdamWOptions&>(group.options()).lr(lr);
    PairBatch batch = pairs.draw(options.batch, gen);
    if (model->classes() > 0) labels = drop_labels(batch.labels, options.label_dropout, model->classes(), gen);
    at::Tensor loss =
        meanflow ? meanflow_loss(*model, *scheduler, batch.x0, batch.x1,
                                 draw_interval_times(options.time_sampler, options.interval_fraction, options.batch, gen))
                 : cfm_loss(model_fn, *scheduler, batch.x0, batch.x1, options.time_sampler(options.batch, gen));
    optimizer.zero_grad();
    loss.backward();
    double grad_norm = options.grad_clip > 0 ? torch::nn::utils::clip_grad_norm_(model->parameters(), options.grad_clip) : 0.0;
    double value = loss.item<double>();
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
        metrics << line.dump() << '\n' << std::flush;
        check_written(metrics, run_dir + "/" + RunDir::kMetrics);
      }
      loss_sum = 0;
      loss_count = 0;
    }
    position.step = step + 1;
    if (options.checkpoint_every > 0 && position.step % options.checkpoint_every == 0 && !last) checkpoint(position.step);
    if (stop.requested() && !last) {
      checkpoint(position.step);
      throw Error(std::string(stop.name()) + " received: stopped after step " + std::to_string(position.step) +
                  (run_dir.empty() ? "" : " with the state saved; continue with flowmatch train --resume " + run_dir));
    }
  }
  progress.finish();
  result.seconds = progress.seconds();
  position.step = options.steps;
  checkpoint(options.steps);
  result.model = weights_to_keep(model, ema.get());
  result.model->eval();
  return result;
}

}  // namespace flowmatch
