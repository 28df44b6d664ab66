#include "flowmatch/model/velocity_model.h"

#include <c10/util/StringUtil.h>

#include "flowmatch/core/error.h"

namespace flowmatch {

namespace {
std::string model_name(const VelocityModel& model) { return model.config().value("name", std::string("model")); }
}  // namespace

at::Tensor VelocityModel::forward_average(const at::Tensor& x, const at::Tensor& s, const at::Tensor& t) {
  return forward_average(x, s, t, Condition{});
}

at::Tensor VelocityModel::forward_average(const at::Tensor&, const at::Tensor&, const at::Tensor&, const Condition&) {
  throw Error("this " + model_name(*this) +
              " has no interval input, so it gives no average velocities (train it with --objective meanflow)");
}

at::Tensor VelocityModel::forward_class(const at::Tensor&, const at::Tensor&, const at::Tensor&) {
  throw Error("this " + model_name(*this) + " is not class-conditional (train a unet on labelled images)");
}

at::Tensor VelocityModel::forward_context(const at::Tensor&, const at::Tensor&, const at::Tensor&, const at::Tensor&) {
  throw Error("this " + model_name(*this) + " takes no context (train it with --context)");
}

at::Tensor VelocityModel::forward_given(const at::Tensor& x, const at::Tensor& t, const Condition& condition) {
  if (condition.labels.defined()) return forward_class(x, t, condition.labels);
  if (condition.context.defined()) return forward_context(x, t, condition.context, condition.dropped);
  return forward(x, t);
}

int64_t VelocityModel::data_dim() const {
  int64_t count = 1;
  for (int64_t size : sample_shape()) count *= size;
  return count;
}

std::string describe_shape(const std::vector<int64_t>& shape) {
  if (shape.size() == 1) return std::to_string(shape[0]) + "-D";
  return c10::str(c10::IntArrayRef(shape));
}

}  // namespace flowmatch
