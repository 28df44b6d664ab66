#include "flowmatch/train/metrics_log.h"

#include <cerrno>
#include <cstring>

#include "flowmatch/core/error.h"

namespace flowmatch {

namespace {
void check_written(const std::ofstream& out, const std::string& path) {
  if (!out) throw Error("cannot write " + path + ": " + std::strerror(errno));
}
}  // namespace

MetricsLog::MetricsLog(std::string path, int64_t step, std::vector<double>& steps, std::vector<double>& losses)
    : path_(std::move(path)) {
  std::string kept;
  if (step > 0) {
    std::ifstream old(path_);
    std::string line;
    while (std::getline(old, line)) {
      nlohmann::json entry = nlohmann::json::parse(line, nullptr, false);
      if (entry.is_discarded() || !entry.contains("step") || entry["step"].get<int64_t>() > step) break;
      steps.push_back(entry["step"].get<double>());
      losses.push_back(entry.value("loss", 0.0));
      kept += line + "\n";
    }
  }
  out_.open(path_, std::ios::trunc);
  check_written(out_, path_);
  out_ << kept << std::flush;
  check_written(out_, path_);
}

void MetricsLog::write(const nlohmann::json& line) {
  out_ << line.dump() << '\n' << std::flush;
  check_written(out_, path_);
}

}  // namespace flowmatch
