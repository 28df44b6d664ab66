#pragma once
#include <ATen/core/Generator.h>
#include <ATen/core/Tensor.h>

#include <optional>
#include <string>

#include "flowmatch/model/velocity_model.h"
#include "flowmatch/objective/time_sampler.h"
#include "flowmatch/objective/training_pairs.h"
#include "flowmatch/ode/solver.h"

namespace flowmatch {

// The times of a batch's rows: t [B], and for objectives of intervals a start s [B] <= t
// (undefined otherwise). Discrete flow matching adds each position's uniform draw reveal [B, L]:
// the position shows the data token at t when reveal < kappa_t (mixture_path.h).
struct TrainingTimes {
  at::Tensor s, t, reveal;
};

// What the network learns from one batch: flow matching, MeanFlow, discrete flow matching (objective_registry.h names
// them). The trainer draws the pairs and labels; the objective draws the times and computes the loss.
class Objective {
 public:
  virtual ~Objective() = default;
  // The times of the batch's rows, from `gen` (the order of draws is part of a run's bytes).
  virtual TrainingTimes draw_times(const PairBatch& pairs, at::Generator& gen) const = 0;
  // The loss of one batch; `condition` holds the rows' classes (some dropped to "no class") or
  // contexts (some dropped), and is empty for an unconditional model.
  virtual at::Tensor loss(VelocityModel& model, const PairBatch& pairs, const Condition& condition,
                          const TrainingTimes& times) const = 0;
  // Whether the model must take an interval input u(x, s, t) (velocity_model.h).
  virtual bool needs_interval() const { return false; }
  // The sampler its models are meant for, when it is not the user's to choose (MeanFlow: one jump).
  virtual std::optional<SolverOptions> sampler() const { return std::nullopt; }
};

}  // namespace flowmatch
