#include "flowmatch/metrics/evaluation.h"

#include "flowmatch/core/error.h"
#include "flowmatch/data/point_data.h"
#include "flowmatch/metrics/checkerboard_score.h"
#include "flowmatch/metrics/sample_quality.h"

namespace flowmatch {

nlohmann::json evaluate_samples(const at::Tensor& samples, const std::string& target, int64_t reference_n,
                                at::Generator& gen) {
  if (reference_n < 0) throw Error("--reference-n must be >= 0");
  PointData data(target, 0, gen);
  if (data.dim() != samples.size(1))
    throw Error("the samples are " + std::to_string(samples.size(1)) + "-D but the target " + target + " is " +
                std::to_string(data.dim()) + "-D");
  at::Tensor reference = data.reference(reference_n > 0 ? reference_n : samples.size(0), gen);
  nlohmann::json report = {{"n", samples.size(0)},
                           {"target", target},
                           {"reference_n", reference.size(0)},
                           {"energy_distance", energy_distance(samples, reference)},
                           {"sliced_w2", sliced_wasserstein2(samples, reference, 256, gen)}};
  if (target == "checkerboard") {
    CheckerboardScore score = checkerboard_score(samples);
    report["on_cell_fraction"] = score.on_cell_fraction;
    report["cell_evenness"] = score.evenness;
    report["max_cell_deviation"] = score.max_cell_deviation;
    report["cell_counts"] = score.cell_counts;
  }
  return report;
}

}  // namespace flowmatch
