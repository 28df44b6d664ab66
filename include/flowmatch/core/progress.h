#pragma once
#include <chrono>
#include <cstdint>
#include <string>

namespace flowmatch {

// Progress of a long loop on stderr: on a terminal, one redrawn line
//   train  1200/4000 [#######.............]  loss 0.8123  energy_distance 0.0052  412.3 it/s  ETA 0:07
// (at most 10 redraws a second); elsewhere, a plain line each time `done` passes a multiple of
// `log_every` (done may jump or move in parts of a step). The value shown
// is named `value_name` (none when empty), and the finishing line counts `unit`s.
class Progress {
 public:
  Progress(std::string label, int64_t total, int64_t log_every, std::string value_name = "loss",
           std::string unit = "steps");
  // A loop resumed with `done` steps behind it: rates count only the steps taken from here.
  void resume_at(int64_t done) { done_ = first_ = logged_ = done; }
  // Counts on but prints nothing (the ranks of a multi-process job other than 0).
  void mute() { muted_ = true; }
  void update(int64_t done, double value);
  // Text shown after the value from now on (the last evaluation's scores).
  void note(std::string text) { note_ = std::move(text); }
  void finish();
  double seconds() const;
  double rate() const;  // steps per second so far

 private:
  std::string line(int64_t done, double value) const;

  std::string label_, value_name_, unit_, note_;
  int64_t total_, log_every_, done_ = 0, first_ = 0, logged_ = 0;  // logged_: done at the last plain line
  bool terminal_, muted_ = false;
  std::chrono::steady_clock::time_point start_, last_draw_;
};

}  // namespace flowmatch
