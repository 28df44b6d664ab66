#include "flowmatch/train/training_options.h"

#include "flowmatch/core/error.h"
#include "flowmatch/model/engine.h"
#include "flowmatch/train/training_evaluation.h"

namespace flowmatch {

void TrainOptions::validate() const {
  objective.validate();
  if (!(label_dropout >= 0 && label_dropout <= 1)) throw Error("--label-dropout must lie in [0, 1]");
  if (!(context_dropout >= 0 && context_dropout < 1)) throw Error("--context-dropout must lie in [0, 1)");
  if (patience < 1) throw Error("--patience must be at least 1, got " + std::to_string(patience));
  lr.validate();
  if (steps <= 0) throw Error("--steps must be positive, got " + std::to_string(steps));
  if (batch <= 0) throw Error("--batch must be positive, got " + std::to_string(batch));
  if (!(weight_decay >= 0)) throw Error("--weight-decay must be >= 0");
  if (!(beta1 >= 0 && beta1 < 1 && beta2 >= 0 && beta2 < 1)) throw Error("AdamW betas must lie in [0, 1)");
  if (!(grad_clip >= 0)) throw Error("--grad-clip must be >= 0");
  if (!(ema >= 0 && ema < 1)) throw Error("--ema must lie in [0, 1)");
  if (log_every <= 0) throw Error("--log-every must be positive");
  if (checkpoint_every < 0) throw Error("--checkpoint-every must be >= 0");
  if (shards < 0) throw Error("--shards must be >= 0");
  check_engine_name(engine);
  if (evaluation && evaluation->options().every % log_every != 0)
    throw Error("--eval-every must be a multiple of --log-every (" + std::to_string(log_every) +
                "): the scores go on the log lines, beside the loss");
}

}  // namespace flowmatch
