#pragma once
#include <memory>
#include <string>
#include <vector>

#include "flowmatch/objective/objective.h"

namespace flowmatch {

// Everything that picks and sets up an objective; the --objective, --scheduler, time-sampler and
// --interval-fraction options of `train`.
struct ObjectiveOptions {
  std::string name = "flow-matching";  // flow-matching | meanflow | discrete-flow-matching (token data)
  std::string scheduler = "condot";    // the affine path (scheduler.h)
  double poly_exponent = 2.0;          // n of the poly scheduler
  TimeSampler time_sampler;
  double interval_fraction = 0.25;     // meanflow: share of rows with s < t (the rest are s = t)

  void validate() const;  // throws Error naming the bad option
};

// flow-matching, meanflow, discrete-flow-matching: one entry each in objective_registry.cpp.
std::vector<std::string> objective_names();
// Throws Error for an unknown name or bad options.
std::unique_ptr<Objective> make_objective(const ObjectiveOptions& options);

}  // namespace flowmatch
