#pragma once
#include <ATen/core/Generator.h>

#include <memory>
#include <string>

#include "flowmatch/dist/process_group.h"
#include "flowmatch/model/velocity_model.h"
#include "flowmatch/objective/training_pairs.h"
#include "flowmatch/train/trainer.h"

namespace flowmatch {

// A training job into a run folder that exists: says on stderr what is trained, trains (as rank 0
// of `group`, when given; trainer.h), and draws the loss curve (loss.png).
TrainResult train_into_run_dir(std::shared_ptr<VelocityModel> model, const TrainingPairs& pairs,
                               const TrainOptions& options, at::Generator& gen, const std::string& out,
                               ProcessGroup* group = nullptr);

}  // namespace flowmatch
