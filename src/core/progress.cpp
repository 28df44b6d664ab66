#include "flowmatch/core/progress.h"

#include <unistd.h>

#include <cmath>
#include <cstdio>

namespace flowmatch {

namespace {
std::string clock_time(double seconds) {
  long s = long(seconds + 0.5);
  char buf[32];
  if (s >= 3600) std::snprintf(buf, sizeof buf, "%ld:%02ld:%02ld", s / 3600, s / 60 % 60, s % 60);
  else std::snprintf(buf, sizeof buf, "%ld:%02ld", s / 60, s % 60);
  return buf;
}
}  // namespace

Progress::Progress(std::string label, int64_t total, int64_t log_every, std::string value_name, std::string unit)
    : label_(std::move(label)), value_name_(std::move(value_name)), unit_(std::move(unit)), total_(total),
      log_every_(log_every > 0 ? log_every : 100), terminal_(isatty(STDERR_FILENO)),
      start_(std::chrono::steady_clock::now()), last_draw_(start_) {}

double Progress::seconds() const {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
}

double Progress::rate() const { return done_ > first_ ? double(done_ - first_) / seconds() : 0.0; }

std::string Progress::line(int64_t done, double value) const {
  constexpr int kBar = 24;
  std::string bar(kBar, '.');
  for (int i = 0; i < kBar * done / std::max<int64_t>(total_, 1); ++i) bar[i] = '#';
  double r = rate();
  char value_text[64] = "";
  if (!value_name_.empty()) {
    if (std::isnan(value)) std::snprintf(value_text, sizeof value_text, "  %s -", value_name_.c_str());  // none yet
    else std::snprintf(value_text, sizeof value_text, "  %s %.5g", value_name_.c_str(), value);
  }
  char buf[256];
  std::snprintf(buf, sizeof buf, "%s %7ld/%ld [%s]%s%s%s  %.1f it/s  ETA %s", label_.c_str(), long(done), long(total_),
                bar.c_str(), value_text, note_.empty() ? "" : "  ", note_.c_str(), r,
                r > 0 ? clock_time(double(total_ - done) / r).c_str() : "?");
  return buf;
}

void Progress::update(int64_t done, double value) {
  done_ = done;
  auto now = std::chrono::steady_clock::now();
  if (muted_) return;
  if (terminal_) {
    if (now - last_draw_ < std::chrono::milliseconds(100) && done < total_) return;
    last_draw_ = now;
    std::fprintf(stderr, "\r%s\033[K", line(done, value).c_str());
  } else if (done / log_every_ > logged_ / log_every_ || (done == total_ && logged_ < total_)) {
    logged_ = done;
    std::fprintf(stderr, "%s\n", line(done, value).c_str());
  }
}

void Progress::finish() {
  if (muted_) return;
  if (terminal_) std::fprintf(stderr, "\n");
  std::fprintf(stderr, "%s done: %ld %s in %s (%.1f it/s)\n", label_.c_str(), long(done_), unit_.c_str(),
               clock_time(seconds()).c_str(), rate());
}

}  // namespace flowmatch
