#pragma once
#include <chrono>
#include <cstdint>
#include <string>

namespace flowmatch {

// Progress of a long loop on stderr: on a terminal, one redrawn line
//   train  1200/4000 [#######.............]  loss 0.8123  412.3 it/s  ETA 0:07
// (at most 10 redraws a second); elsewhere, a plain line every `log_every` steps.
class Progress {
 public:
  Progress(std::string label, int64_t total, int64_t log_every);
  void update(int64_t done, double loss);
  void finish();
  double seconds() const;
  double rate() const;  // steps per second so far

 private:
  std::string line(int64_t done, double loss) const;

  std::string label_;
  int64_t total_, log_every_, done_ = 0;
  bool terminal_;
  std::chrono::steady_clock::time_point start_, last_draw_;
};

}  // namespace flowmatch
