#include "flowmatch/ode/image_sampling.h"

#include <torch/torch.h>

#include <sstream>
#include <vector>

#include "flowmatch/core/progress.h"
#include "flowmatch/ode/sampling.h"

namespace flowmatch {

ImageSamples sample_images(VelocityModel& model, int64_t n, std::optional<int64_t> class_label, double cfg,
                           const SolverOptions& sampler, int64_t batch, at::Generator& gen) {
  ImageSamples samples;
  int64_t classes = model.classes();
  if (class_label) {
    samples.labels = torch::full({n}, *class_label, torch::kLong);
  } else if (classes > 0) {  // ceil(n / K) of each class in turn
    samples.labels = torch::arange(n, torch::kLong).div((n + classes - 1) / classes, "floor");
  }
  std::vector<int64_t> shape = model.sample_shape();
  shape.insert(shape.begin(), n);
  at::Tensor noise = torch::randn(shape, gen);
  std::vector<at::Tensor> parts;
  Progress progress("sample", n, std::max<int64_t>(1, n / 10), "nfe", "images");
  for (int64_t start = 0; start < n; start += batch) {
    int64_t end = std::min(n, start + batch);
    Guidance guidance;
    if (samples.labels.defined()) guidance = {samples.labels.slice(0, start, end), cfg, {}};
    Solution part = generate(model, noise.slice(0, start, end), sampler, guidance);
    parts.push_back(part.x);
    samples.nfe = part.nfe;
    progress.update(end, double(part.nfe));
  }
  progress.finish();
  samples.images = torch::cat(parts);
  return samples;
}

std::string image_grid_title(const SolverOptions& sampler, const ImageSamples& samples, double cfg) {
  std::ostringstream guidance;
  if (samples.labels.defined()) guidance << ", cfg " << cfg;
  return sampler.describe() + " (" + std::to_string(samples.nfe) + " NFE)" + guidance.str();
}

}  // namespace flowmatch
