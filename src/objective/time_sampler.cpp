#include "flowmatch/objective/time_sampler.h"

#include <torch/torch.h>

#include "flowmatch/core/error.h"

namespace flowmatch {

void TimeSampler::validate() const {
  if (name != "uniform" && name != "logit-normal" && name != "grid")
    throw Error("unknown time sampler '" + name + "' (choose uniform, logit-normal or grid)");
  if (name == "logit-normal" && !(std > 0)) throw Error("logit-normal std must be positive");
  if (name == "grid" && grid_points < 1) throw Error("a time grid needs at least 1 point");
}

at::Tensor TimeSampler::operator()(int64_t n, at::Generator& gen) const {
  if (name == "uniform") return torch::rand({n}, gen);
  if (name == "grid") return torch::randint(0, grid_points, {n}, gen, torch::kFloat) / double(grid_points);
  // SD3 samples logit-normal time with data at t = 0; our t runs the other way (data at 1), so its
  // location m becomes -m here. Our `mean` is already in flowmatch's convention.
  return torch::sigmoid(mean + std * torch::randn({n}, gen));
}

}  // namespace flowmatch
