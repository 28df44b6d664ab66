#include "flowmatch/ode/image_sampling.h"

#include <torch/torch.h>

#include <sstream>
#include <vector>

#include "flowmatch/core/error.h"
#include "flowmatch/core/progress.h"
#include "flowmatch/ode/sampling.h"

namespace flowmatch {

ImageSamples sample_images(VelocityModel& model, const ImageSampling& request, const SolverOptions& sampler, at::Generator& gen) {
  const int64_t n = request.n, classes = model.classes();
  ImageSamples samples;
  if (request.labels.defined()) {
    samples.labels = request.labels;
  } else if (request.class_label) {
    samples.labels = torch::full({n}, *request.class_label, torch::kLong);
  } else if (classes > 0) {  // ceil(n / K) of each class in turn
    samples.labels = torch::arange(n, torch::kLong).div((n + classes - 1) / classes, "floor");
  }
  std::vector<int64_t> shape = model.sample_shape();
  shape.insert(shape.begin(), n);
  at::Tensor noise = request.noise.defined() ? as_model_input(model, request.noise, "noise") : torch::randn(shape, gen);
  const double t0 = request.from.defined() ? 1 - request.strength : 0.0;
  if (request.from.defined()) {
    if (!request.path) throw Error("editing needs the model's path");
    noise = start_on_path(request.path, as_model_input(model, request.from, "images to edit"), noise, t0);
  }
  const PathNoise path_noise{request.path, &gen};
  std::vector<at::Tensor> parts;
  Progress progress("sample", n, std::max<int64_t>(1, n / 10), "nfe", "images");
  if (!request.show_progress) progress.mute();
  for (int64_t start = 0; start < n; start += request.batch) {
    int64_t end = std::min(n, start + request.batch);
    Guidance guidance;
    if (samples.labels.defined()) guidance = {samples.labels.slice(0, start, end), request.cfg, {}};
    SolverOptions stepping = sampler;  // the line moves within the batch, with the evaluations so far
    stepping.on_progress = [&](double along, int64_t nfe) { progress.update(start + int64_t(double(end - start) * along), double(nfe)); };
    Solution part = generate(model, noise.slice(0, start, end), stepping, guidance, path_noise, t0);
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
