#pragma once
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "flowmatch/model/velocity_model.h"
#include "flowmatch/objective/training_set.h"
#include "flowmatch/ode/solver.h"
#include "flowmatch/train/model_usage.h"

namespace flowmatch {

struct FdJudge;  // metrics/fd_classifier.h

// train --eval-every: how the weights being trained (the EMA average, when enabled) are sampled
// and scored while they train.
struct EvaluationOptions {
  int64_t every = 0;                   // steps between evaluations (and one at the end); 0 = none
  int64_t n = 0;                       // samples each time; 0 = 2000 points or 500 images
  std::optional<SolverOptions> solver;  // unset: as `flowmatch sample` draws points, midpoint 10 steps for images
  std::string keep_best;               // a measure: its best-scoring weights are kept as best.safetensors
  std::string classifier;              // images: the fd judge's weights ("" = fd's cached one)
  uint64_t seed = 0;                   // the samples' own generator (training's draws stay as they are)
};

// A score of samples: its name (metrics.jsonl logs it as "eval_" + name) and its direction.
struct Measure {
  std::string name;
  bool lower_is_better = true;
  bool better(double score, double than) const { return lower_is_better ? score < than : score > than; }
};

// Scores a model's samples against the data it trains on, as `flowmatch eval` and `flowmatch fd`
// score them, so a logged score is recomputed exactly by
//   flowmatch sample MODEL --n N --seed SEED [--solver S --steps K] --out s.npy
//   flowmatch eval s.npy --target DATA --seed SEED        (points)
//   flowmatch fd s.npy --reference DATA                   (images)
// Points: energy distance and sliced W2 against the built-in's fresh samples or the file's rows
// (evaluation.h), for the checkerboard the on-cell fraction, and for a flow from N(0, I) sampled
// with an ODE solver (not MeanFlow's jumps) in at most kMaxNllDim dimensions the mean negative
// log-likelihood (nats) of min(n, kNllPoints) of those points along that solver's path (without
// its noise), as
//   flowmatch likelihood MODEL --data DATA --n min(N, 500) --seed SEED --solver S --steps K
// computes it (exact divergence). Images of 1 x 28 x 28: the
// Fréchet distance in the fd judge's features to the training images, and, for a
// class-conditional model, the share of samples the judge puts in their class.
class SampleEvaluation {
 public:
  static constexpr int64_t kMaxNllDim = 8;
  static constexpr int64_t kNllPoints = 500;  // at most: each takes D backward passes per evaluation

  // Loads (or trains, the first time) the judge for images and their reference features. Throws
  // Error for a context model (its held-out loss scores it), images the judge cannot read, or a
  // keep_best that is not one of measures().
  SampleEvaluation(const TrainingData& data, const VelocityModel& model, ModelUsage usage, EvaluationOptions options);

  const EvaluationOptions& options() const { return options_; }
  const std::vector<Measure>& measures() const { return measures_; }
  // The measure that picks best.safetensors, when --keep-best names one.
  std::optional<Measure> kept() const;
  // Draws options().n samples from `model` as it is now (always from the same noise), draws their
  // picture into png_path (titled with `step`), and scores them: measure name -> score.
  std::map<std::string, double> score(const std::shared_ptr<VelocityModel>& model, int64_t step,
                                      const std::string& png_path) const;

 private:
  bool scores_nll() const;  // whether the measures include nll
  std::map<std::string, double> score_points(VelocityModel& model, int64_t step, const std::string& png_path) const;
  std::map<std::string, double> score_images(VelocityModel& model, int64_t step, const std::string& png_path) const;

  std::string target_;  // the data: a built-in name or a points file; an image source
  ModelUsage usage_;
  EvaluationOptions options_;
  SolverOptions solver_;
  std::vector<Measure> measures_;
  bool images_ = false;
  std::shared_ptr<const FdJudge> judge_;  // images
  at::Tensor reference_features_;         // images: the judge's features of the training images
};

}  // namespace flowmatch
