#pragma once
#include <string>

namespace flowmatch {

// A training run's folder: config.toml (the resolved options), metrics.jsonl (one JSON object per
// log line), model.safetensors (weights + config), training_state.safetensors (what --resume needs),
// and PNG figures.
struct RunDir {
  static constexpr const char* kModel = "model.safetensors";
  static constexpr const char* kConfig = "config.toml";
  static constexpr const char* kMetrics = "metrics.jsonl";
  static constexpr const char* kLossCurve = "loss.png";
  static constexpr const char* kTrainingState = "training_state.safetensors";
  static constexpr const char* kSamples = "samples.png";  // image models: a grid of samples at the end

  // Creates the folder (and its parents); throws Error when it cannot, or when it already holds a
  // model and `overwrite` is false.
  static void create(const std::string& dir, bool overwrite);
};

// A model argument: a weights file, or a run folder holding model.safetensors.
std::string resolve_model_path(const std::string& model_or_run_dir);

}  // namespace flowmatch
