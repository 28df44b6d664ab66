#pragma once
#include <ATen/core/Generator.h>
#include <ATen/core/Tensor.h>

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "flowmatch/data/standardization.h"
#include "flowmatch/data/token_data.h"
#include "flowmatch/model/velocity_model.h"
#include "flowmatch/ode/mixture_path.h"
#include "flowmatch/ode/path_coefficients.h"
#include "flowmatch/ode/solver.h"

namespace flowmatch {

// The path a model was trained on: its scheduler (scheduler.h) and how its pairs were coupled:
// "independent", "ot", or "flow" for reflow and distillation, whose pairs a flow drew.
struct TrainedPath {
  std::string scheduler = "condot";
  double poly_exponent = 2.0;  // of the poly scheduler
  std::string coupling = "independent";
};

// How a trained model is meant to be used, beyond its architecture; stored in its weights file's
// __metadata__ so that `flowmatch sample MODEL` does the right thing without flags.
struct ModelUsage {
  // Where its flow starts: "" for N(0, I), else the built-in or points file it was trained from
  // (data-to-data transport, --source); for a token model, its mixture path's source: mask or uniform.
  std::string source;
  // The sampler it was trained for: euler with K steps after distillation, jump after MeanFlow.
  std::optional<SolverOptions> sampler;
  // 1 for a flow trained on data, k + 1 for the reflow of a k-rectified flow (Liu et al.'s k-rectified).
  int64_t rectification = 1;
  // A class-conditional model's class names, label k naming class_names[k].
  std::vector<std::string> class_names;
  // Its path; unset in files written before flowmatch recorded it.
  std::optional<TrainedPath> path;
  // The z-scores it was trained in (training_set.h): of x (--standardize), and of its context.
  std::optional<Standardization> data_scaling, context_scaling;
  // With context_scaling: the 99th percentile of the training contexts' z-score norms ||(c - mean) / std||.
  // A context beyond it is rarer than 1 in 100 of them, and the model extrapolates there (docs/sbi.md
  // measures it); the norm ignores correlations between columns. 0 in files written before it.
  double context_reach = 0;
  // A token model trained on text: the characters its tokens 1 .. V - 1 stand for.
  std::optional<CharacterVocabulary> characters;

  // flowmatch.source, .sampler, .path, .rectification, .classes, .data_standardization,
  // .context_standardization, .context_reach, .characters
  std::map<std::string, std::string> to_metadata() const;
  // Throws Error naming `path` when the sampler entry is malformed.
  static ModelUsage from_metadata(const std::map<std::string, std::string>& metadata, const std::string& path);

  // n starting points [n, dim] at t = 0: standard normal, or drawn from the source.
  at::Tensor draw_start(int64_t n, int64_t dim, at::Generator& gen) const;
  std::string describe_source() const { return source.empty() ? "N(0, I)" : source; }
  // Contexts [N, C] in the data's units as `model` takes them (z-scored as in training). Throws Error
  // when the model takes no context, or one of another width.
  at::Tensor model_context(const VelocityModel& model, const at::Tensor& context) const;
  // Points from the model's units to the data's (undoing --standardize), and back.
  at::Tensor to_data_units(const at::Tensor& x) const { return data_scaling ? data_scaling->undo(x) : x; }
  at::Tensor to_model_units(const at::Tensor& x) const { return data_scaling ? data_scaling->apply(x) : x; }
  // log p_data(x) - log p_model(z) for x in the data's units: log |dz/dx|, 0 without --standardize.
  double log_density_shift() const { return data_scaling ? data_scaling->log_jacobian() : 0.0; }
  // Log-densities need the flow's start density: throws Error, naming the model `name`, unless the
  // flow starts from N(0, I).
  void require_normal_start(const std::string& name) const;
  // The path's coefficients, for work that moves along the path (`use`: stochastic sampling,
  // editing). Throws Error, naming the model `name`, when its file does not record the path or the
  // flow does not start from N(0, I); with `needs_score`, also unless its pairs were independent
  // (the score formula of stochastic_sampler.h needs x0 independent of x1).
  PathAt path_at(const std::string& name, const std::string& use, bool needs_score) const;
  // A token model's mixture path (ode/mixture_path.h): its scheduler's kappa, its source and
  // vocabulary. Throws Error, naming the model `name`, unless `model` is a token model.
  MixturePath mixture_path(const VelocityModel& model, const std::string& name) const;
};

// A trained model and how it is meant to be used, from one read of its weights file.
struct TrainedModel {
  std::shared_ptr<VelocityModel> model;
  ModelUsage usage;
  int64_t step = 0;  // the training step the weights were saved at (0: the file does not say)
};
// From a weights file or a run folder (run_dir.h); with `float64` the model is converted to float64.
TrainedModel load_trained_model(const std::string& model_or_run_dir, bool float64 = false);

}  // namespace flowmatch
