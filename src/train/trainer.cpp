#include "flowmatch/train/trainer.h"

#include <torch/torch.h>

#include "flowmatch/core/error.h"
#include "flowmatch/dist/seed_streams.h"
#include "flowmatch/train/training_loop.h"

namespace flowmatch {

namespace {
// Label dropout, so that one network learns v(x, t | y) and the unconditional v(x, t) that
// classifier-free guidance needs: each label becomes K ("no class") with probability p.
at::Tensor drop_labels(const at::Tensor& labels, double p, int64_t classes, at::Generator& gen) {
  at::Tensor dropped = torch::rand({labels.size(0)}, gen) < p;
  return torch::where(dropped, torch::full_like(labels, classes), labels);
}

// One step's rows: the pairs, their labels (some dropped to "no class"; undefined when the model
// has no classes) and their times.
struct StepRows {
  PairBatch pairs;
  at::Tensor labels;
  TrainingTimes times;
};

// What a step draws its rows from.
struct RowSource {
  const TrainingPairs& pairs;
  const Objective& objective;
  double label_dropout;
  int64_t classes;
};

// Rows of one shard, drawn from its generator in a fixed order: pairs, dropped labels, times.
StepRows draw_rows(const RowSource& source, int64_t rows, at::Generator& gen) {
  StepRows step;
  step.pairs = source.pairs.draw(rows, gen);
  if (source.classes > 0) step.labels = drop_labels(step.pairs.labels, source.label_dropout, source.classes, gen);
  step.times = source.objective.draw_times(rows, gen);
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
  std::unique_ptr<Objective> objective = make_objective(options.objective);
  if (objective->needs_interval() && !model->takes_interval())
    throw Error("the " + options.objective.name + " objective needs a model with an interval input (mlp with interval = true)");
  RowSource rows_from{pairs, *objective, options.label_dropout, model->classes()};

  TrainingLoop loop(model, options, gen, run_dir, group);  // AdamW, EMA, ranks, checkpoints, logs, signals
  for (int64_t step = loop.first_step(); step < options.steps; ++step) {
    loop.begin_step(step);                                                           // the learning rate
    StepRows rows = draw_step(rows_from, options.batch, loop.streams());             // (x0, x1), labels, t
    at::Tensor loss = objective->loss(*model, rows.pairs, rows.labels, rows.times);  // e.g. |v(x_t, t) - u_t|^2
    loop.update(loss, step);                                                         // backward, clip, AdamW, EMA
    loop.end_step(step);                                                             // log, checkpoint, stop
  }
  return loop.finish();
}

}  // namespace flowmatch
