#include "flowmatch/objective/objective_registry.h"

#include <functional>

#include "flowmatch/core/error.h"
#include "flowmatch/core/registry.h"
#include "flowmatch/objective/discrete_flow_matching.h"
#include "flowmatch/objective/flow_matching.h"
#include "flowmatch/objective/meanflow.h"

namespace flowmatch {

namespace {
using ObjectiveFactory = std::function<std::unique_ptr<Objective>(const ObjectiveOptions&)>;

const Registry<ObjectiveFactory>& objectives() {
  static const Registry<ObjectiveFactory> registry(
      "objective", {
                       {"flow-matching",
                        [](const ObjectiveOptions& o) {
                          return std::make_unique<FlowMatching>(make_scheduler(o.scheduler, o.poly_exponent), o.time_sampler);
                        }},
                       {"discrete-flow-matching",
                        [](const ObjectiveOptions& o) {
                          return std::make_unique<DiscreteFlowMatching>(make_scheduler(o.scheduler, o.poly_exponent), o.time_sampler);
                        }},
                       {"meanflow",
                        [](const ObjectiveOptions& o) {
                          return std::make_unique<MeanFlow>(make_scheduler(o.scheduler, o.poly_exponent), o.time_sampler,
                                                            o.interval_fraction);
                        }},
                   });
  return registry;
}
}  // namespace

void ObjectiveOptions::validate() const {
  objectives()[name];  // throws for an unknown name
  if (!(interval_fraction >= 0 && interval_fraction <= 1)) throw Error("--interval-fraction must lie in [0, 1]");
  make_scheduler(scheduler, poly_exponent);
  time_sampler.validate();
}

std::vector<std::string> objective_names() { return objectives().names(); }

std::unique_ptr<Objective> make_objective(const ObjectiveOptions& options) {
  options.validate();
  return objectives()[options.name](options);
}

}  // namespace flowmatch
