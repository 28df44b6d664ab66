#pragma once
#include <memory>
#include <string>

namespace flowmatch {

class RunDirLock;

// A training run's folder: config.toml (the resolved options), metrics.jsonl (one JSON object per
// log line), model.safetensors (weights + config), training_state.safetensors (what --resume needs),
// and PNG figures.
struct RunDir {
  static constexpr const char* kModel = "model.safetensors";
  static constexpr const char* kConfig = "config.toml";
  static constexpr const char* kMetrics = "metrics.jsonl";
  static constexpr const char* kLossCurve = "loss.png";
  static constexpr const char* kTrainingState = "training_state.safetensors";
  static constexpr const char* kSamples = "samples.png";  // the latest evaluation's samples; image models: a grid at the end
  static constexpr const char* kBest = "best.safetensors";  // --keep-best: the best-scoring weights

  static constexpr const char* kLock = ".lock";

  // Creates the folder (and its parents) and locks it (RunDirLock); throws Error when it cannot,
  // when another process writes there, or when it already holds a model and `overwrite` is false.
  static RunDirLock create(const std::string& dir, bool overwrite);
};

// One writer per run folder: an exclusive flock(2) on RUN_DIR/.lock, whose text names the holder
// (process id, command line, start time). The kernel drops the lock when its process ends, however
// it ends, so a lock left by a killed process is taken over (with a note on stderr); a live holder
// makes the constructor throw Error naming it. The lock goes when the object goes.
class RunDirLock {
 public:
  explicit RunDirLock(const std::string& dir);  // the folder exists
  ~RunDirLock();
  RunDirLock(RunDirLock&& other) noexcept : fd_(other.fd_) { other.fd_ = -1; }
  RunDirLock(const RunDirLock&) = delete;
  RunDirLock& operator=(const RunDirLock&) = delete;
  RunDirLock& operator=(RunDirLock&&) = delete;

 private:
  int fd_ = -1;
};

// Who writes the run folder `dir` now, as its lock names it ("process 123: flowmatch train ..."), or
// "" when nobody does.
std::string run_dir_writer(const std::string& dir);

// A model argument: a weights file, or a run folder holding model.safetensors.
std::string resolve_model_path(const std::string& model_or_run_dir);

}  // namespace flowmatch
