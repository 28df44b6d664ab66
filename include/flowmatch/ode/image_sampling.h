#pragma once
#include <ATen/core/Generator.h>
#include <ATen/core/Tensor.h>

#include <optional>
#include <string>

#include "flowmatch/model/velocity_model.h"
#include "flowmatch/ode/solver.h"

namespace flowmatch {

// Samples of an image model, drawn `batch` images per solve with a progress line: n images of class
// `class_label` when it is set, else of every class in turn (label i / ceil(n / K)) for a
// conditional model, or unconditional ones. cfg is the guidance weight w (sampling.h).
struct ImageSamples {
  at::Tensor images, labels;  // [n, C, H, W]; [n] int64 (undefined when unconditional)
  int64_t nfe = 0;            // network evaluations per image (x 2 with guidance, both in one batch)
};
ImageSamples sample_images(VelocityModel& model, int64_t n, std::optional<int64_t> class_label, double cfg,
                           const SolverOptions& sampler, int64_t batch, at::Generator& gen);

// How they were drawn, for a picture's title: "midpoint, 8 steps (16 NFE), cfg 2".
std::string image_grid_title(const SolverOptions& sampler, const ImageSamples& samples, double cfg);

}  // namespace flowmatch
