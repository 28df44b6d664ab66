#include "flowmatch/train/trainer.h"

#include <torch/torch.h>

#include <algorithm>
#include <optional>

#include "flowmatch/core/error.h"
#include "flowmatch/dist/seed_streams.h"
#include "flowmatch/model/module_weights.h"
#include "flowmatch/model/engine.h"
#include "flowmatch/train/training_loop.h"

namespace flowmatch {

namespace {
// Label dropout, so that one network learns v(x, t | y) and the unconditional v(x, t) that
// classifier-free guidance needs: each label becomes K ("no class") with probability p.
at::Tensor drop_labels(const at::Tensor& labels, double p, int64_t classes, at::Generator& gen) {
  at::Tensor dropped = torch::rand({labels.size(0)}, gen) < p;
  return torch::where(dropped, torch::full_like(labels, classes), labels);
}

// One step's rows: the pairs, their condition (labels, some dropped to "no class", or contexts,
// some dropped; empty for an unconditional model) and their times.
struct StepRows {
  PairBatch pairs;
  Condition condition;
  TrainingTimes times;
};

// What a step draws its rows from.
struct RowSource {
  const TrainingPairs& pairs;
  const Objective& objective;
  const TrainOptions& options;
  int64_t classes;
};

// The rows' condition: their labels or contexts, each dropped with the options' probability.
Condition condition_of(const RowSource& source, const PairBatch& pairs, at::Generator& gen) {
  Condition condition;
  if (source.classes > 0) condition.labels = drop_labels(pairs.labels, source.options.label_dropout, source.classes, gen);
  condition.context = pairs.context;
  if (pairs.context.defined() && source.options.context_dropout > 0)
    condition.dropped = torch::rand({pairs.context.size(0)}, gen) < source.options.context_dropout;
  return condition;
}

// Rows of one shard, drawn from its generator in a fixed order: pairs, dropped labels, times.
StepRows draw_rows(const RowSource& source, int64_t rows, at::Generator& gen) {
  StepRows step;
  step.pairs = source.pairs.draw(rows, gen);
  step.condition = condition_of(source, step.pairs, gen);
  step.times = source.objective.draw_times(step.pairs, gen);
  return step;
}

// This rank's shards of the step, one after another.
StepRows draw_step(const RowSource& source, int64_t batch, SeedStreams& streams) {
  int64_t rows = batch / streams.shards();
  if (streams.own().size() == 1) return draw_rows(source, rows, streams.generator(streams.own()[0]));
  std::vector<StepRows> parts;
  for (int64_t shard : streams.own()) parts.push_back(draw_rows(source, rows, streams.generator(shard)));
  auto cat = [&](auto field) {
    std::vector<at::Tensor> pieces;
    for (const auto& part : parts) pieces.push_back(field(part));
    return pieces[0].defined() ? torch::cat(pieces) : at::Tensor();
  };
  StepRows step;
  step.pairs.x0 = cat([](const StepRows& r) { return r.pairs.x0; });
  step.pairs.x1 = cat([](const StepRows& r) { return r.pairs.x1; });
  step.condition.labels = cat([](const StepRows& r) { return r.condition.labels; });
  step.condition.context = cat([](const StepRows& r) { return r.condition.context; });
  step.condition.dropped = cat([](const StepRows& r) { return r.condition.dropped; });
  step.times.s = cat([](const StepRows& r) { return r.times.s; });
  step.times.t = cat([](const StepRows& r) { return r.times.t; });
  step.times.reveal = cat([](const StepRows& r) { return r.times.reveal; });
  return step;
}

// The held-out rows as a fixed validation batch: each row repeated to about 4096 rows, with noise
// and times drawn once from a generator of their own (the training draws stay as they were), so
// that every evaluation scores the same draws and the losses compare.
std::optional<StepRows> validation_rows(const TrainingPairs& pairs, const Objective& objective) {
  std::optional<PairBatch> held_out = pairs.held_out();
  if (!held_out) return std::nullopt;
  const int64_t n = held_out->x1.size(0), copies = std::clamp<int64_t>((4096 + n - 1) / n, 1, 64);
  at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(20231205);
  auto repeated = [&](const at::Tensor& rows) {
    if (!rows.defined()) return at::Tensor();
    std::vector<int64_t> times(rows.dim(), 1);
    times[0] = copies;
    return rows.repeat(times);
  };
  StepRows v;
  v.pairs.x1 = repeated(held_out->x1);
  v.pairs.x0 = torch::randn(v.pairs.x1.sizes(), gen);
  v.condition.labels = repeated(held_out->labels);
  v.condition.context = repeated(held_out->context);
  v.times = objective.draw_times(v.pairs, gen);
  return v;
}
}  // namespace

std::string training_engine(const VelocityModel& model, const TrainOptions& options) {
  bool jvp = make_objective(options.objective)->needs_interval();
  if (options.engine == "native" && jvp)
    throw Error("--engine native cannot train with " + options.objective.name +
                ", whose loss takes a Jacobian-vector product through the network: use --engine torch or auto");
  if (options.engine == "torch" || jvp) return "torch";
  return runs_natively(model, options.engine) ? "native" : "torch";
}

double training_memory_bytes(const VelocityModel& model, int64_t batch) {
  double parameters = double(parameter_count(model));
  return 4.0 * (5 * parameters + 2 * double(batch) * model.floats_per_row());
}

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
  if (model->context_dim() != pairs.context_dim())
    throw Error("the model takes a context of size " + std::to_string(model->context_dim()) + " but the data (" +
                pairs.describe() + ") has one of size " + std::to_string(pairs.context_dim()));
  std::unique_ptr<Objective> objective = make_objective(options.objective);
  if (objective->needs_interval() && !model->takes_interval())
    throw Error("the " + options.objective.name + " objective needs a model with an interval input (mlp with interval = true)");
  RowSource rows_from{pairs, *objective, options, model->classes()};
  options.engine = training_engine(*model, options);
  std::shared_ptr<VelocityModel> velocity = on_engine(model, options.engine, at::get_num_threads());  // what the loss calls

  TrainingLoop loop(model, options, gen, run_dir, group);  // AdamW, EMA, ranks, checkpoints, logs, signals
  if (std::optional<StepRows> held_out = validation_rows(pairs, *objective))
    loop.validate_on([&objective, rows = *held_out](VelocityModel& m) {  // the loss on held-out rows
      return objective->loss(m, rows.pairs, rows.condition, rows.times).item<double>();
    });
  for (int64_t step = loop.first_step(); step < options.steps && !loop.converged(); ++step) {
    loop.begin_step(step);                                                              // the learning rate
    StepRows rows = draw_step(rows_from, options.batch, loop.streams());                // (x0, x1), labels, t
    at::Tensor loss = objective->loss(*velocity, rows.pairs, rows.condition, rows.times);  // e.g. |v(x_t, t) - u_t|^2
    loop.update(loss, step);                                                            // backward, clip, AdamW, EMA
    loop.end_step(step);                                                                // log, validate, checkpoint, stop
  }
  TrainResult result = loop.finish();
  result.engine = options.engine;
  return result;
}

}  // namespace flowmatch
