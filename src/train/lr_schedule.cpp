#include "flowmatch/train/lr_schedule.h"

#include <algorithm>
#include <cmath>

#include "flowmatch/core/error.h"

namespace flowmatch {

void LrSchedule::validate() const {
  if (shape != "cosine" && shape != "constant") throw Error("unknown --lr-schedule '" + shape + "' (choose cosine or constant)");
  if (!(peak > 0)) throw Error("--lr must be positive");
  if (warmup < 0) throw Error("--warmup must be >= 0");
  if (!(min_ratio >= 0 && min_ratio <= 1)) throw Error("--min-lr-ratio must lie in [0, 1]");
}

double LrSchedule::at(int64_t step) const {
  if (step < warmup) return peak * double(step + 1) / double(warmup);
  if (shape == "constant" || total <= warmup) return peak;
  double p = std::min(1.0, double(step - warmup) / double(std::max<int64_t>(total - warmup - 1, 1)));
  return peak * (min_ratio + (1 - min_ratio) * 0.5 * (1 + std::cos(M_PI * p)));
}

}  // namespace flowmatch
