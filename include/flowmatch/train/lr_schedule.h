#pragma once
#include <cstdint>
#include <string>

namespace flowmatch {

// Learning rate at a step: linear warm-up from 0 over `warmup` steps, then "constant" or "cosine"
// decay to min_ratio * peak at the last step:
//   lr = peak * (min_ratio + (1 - min_ratio) * (1 + cos(pi * p)) / 2),  p = (step - warmup) / (total - warmup).
struct LrSchedule {
  double peak = 2e-3;
  int64_t warmup = 100;
  int64_t total = 1;
  std::string shape = "cosine";  // cosine | constant
  double min_ratio = 0.0;

  void validate() const;  // throws Error for an unknown shape or bad numbers
  double at(int64_t step) const;
};

}  // namespace flowmatch
