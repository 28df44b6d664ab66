#include "flowmatch/train/training_run.h"

#include <iostream>

#include "flowmatch/figures/figures.h"
#include "flowmatch/model/module_weights.h"
#include "flowmatch/train/run_dir.h"

namespace flowmatch {

TrainResult train_into_run_dir(std::shared_ptr<VelocityModel> model, const TrainingPairs& pairs,
                               const TrainOptions& options, at::Generator& gen, const std::string& out,
                               ProcessGroup* group) {
  std::string name = model->config().value("name", std::string("model"));
  std::cerr << "training " << name << " (" << parameter_count(*model) << " parameters, " << options.objective.name
            << ") on " << pairs.describe() << " for " << options.steps << " steps of batch " << options.batch
            << (group ? " on " + std::to_string(group->size()) + " processes" : "") << "\n";
  TrainResult result = train_flow(model, pairs, options, gen, out, group);
  draw_loss_curve_png(out + "/" + RunDir::kLossCurve, result.log_steps, result.log_losses,
                      "training loss, " + name + " on " + pairs.describe());
  return result;
}

}  // namespace flowmatch
