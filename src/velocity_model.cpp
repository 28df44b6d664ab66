#include "flowmatch/velocity_model.h"

#include "flowmatch/error.h"

namespace flowmatch {

at::Tensor VelocityModel::forward_average(const at::Tensor&, const at::Tensor&, const at::Tensor&) {
  throw Error("this " + config().value("name", std::string("model")) +
              " has no interval input, so it gives no average velocities (train it with --objective meanflow)");
}

}  // namespace flowmatch
