#pragma once
#include <ATen/core/Generator.h>
#include <ATen/core/Tensor.h>

#include <optional>
#include <string>

#include "flowmatch/model/velocity_model.h"
#include "flowmatch/ode/path_coefficients.h"
#include "flowmatch/ode/solver.h"

namespace flowmatch {

// What to draw from an image model.
struct ImageSampling {
  int64_t n = 0;
  // Every image of this class; unset: every class in turn (label i / ceil(n / K)) for a conditional
  // model, or unconditional images.
  std::optional<int64_t> class_label;
  at::Tensor labels;    // [n] int64, one class per image (inverted images keep theirs); overrides class_label
  at::Tensor noise;     // [n, C, H, W] start points (invert's output); undefined: drawn from gen
  double cfg = 1.0;     // the guidance weight w (sampling.h)
  int64_t batch = 50;   // images per solve, with a progress line
  bool show_progress = true;  // the progress line on stderr (not for evaluations inside training)
  PathAt path;  // the model's path: stochastic sampling and editing move along it
  // Editing: start from these images [n, C, H, W] part-way along the path (start_on_path in
  // sampling.h) instead of from noise; undefined: from noise.
  at::Tensor from;
  double strength = 1.0;
};

// Samples of an image model.
struct ImageSamples {
  at::Tensor images, labels;  // [n, C, H, W]; [n] int64 (undefined when unconditional)
  int64_t nfe = 0;            // network evaluations per image (x 2 with guidance, both in one batch)
};
// Draws the noise for all n images first, unless given (so editing with strength 1 gives plain
// sampling's bytes).
ImageSamples sample_images(VelocityModel& model, const ImageSampling& request, const SolverOptions& sampler, at::Generator& gen);

// How they were drawn, for a picture's title: "midpoint, 8 steps (16 NFE), cfg 2".
std::string image_grid_title(const SolverOptions& sampler, const ImageSamples& samples, double cfg);

}  // namespace flowmatch
