#pragma once
#include <nlohmann/json.hpp>

#include <fstream>
#include <string>
#include <vector>

namespace flowmatch {

// A run's metrics.jsonl: one JSON object per line, each flushed as it is written. A write that
// fails (disk full, file-size limit) throws Error with the reason rather than losing lines silently.
class MetricsLog {
 public:
  // Opens `path` new, or, resuming at `step` > 0, cut back to its lines of steps up to `step`, whose
  // steps and losses are appended to `steps` and `losses` (the run's loss curve so far).
  MetricsLog(std::string path, int64_t step, std::vector<double>& steps, std::vector<double>& losses);
  void write(const nlohmann::json& line);

 private:
  std::string path_;
  std::ofstream out_;
};

}  // namespace flowmatch
