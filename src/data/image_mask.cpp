#include "flowmatch/data/image_mask.h"

#include <torch/torch.h>

#include <algorithm>
#include <cstdlib>

#include "flowmatch/core/error.h"
#include "flowmatch/core/file_name.h"
#include "flowmatch/core/nearest_name.h"
#include "flowmatch/core/registry.h"
#include "flowmatch/io/image_file.h"
#include "flowmatch/io/npy.h"

namespace flowmatch {

std::vector<std::string> inpainting_mask_names() {
  return {"left-half", "right-half", "top-half", "bottom-half", "center", "random:P", "FILE.npy", "FILE.png"};
}

namespace {
// One [H, W] mask for every image: a half or the centre.
at::Tensor region_mask(const std::string& name, int64_t height, int64_t width) {
  at::Tensor mask = torch::zeros({height, width}, torch::kBool);
  const int64_t keep_rows = height / 2, keep_columns = width / 2;  // the filled half is the larger one
  if (name == "left-half") mask.slice(1, 0, width - keep_columns).fill_(true);
  if (name == "right-half") mask.slice(1, keep_columns, width).fill_(true);
  if (name == "top-half") mask.slice(0, 0, height - keep_rows).fill_(true);
  if (name == "bottom-half") mask.slice(0, keep_rows, height).fill_(true);
  if (name == "center") mask.slice(0, height / 4, height / 4 + (height + 1) / 2).slice(1, width / 4, width / 4 + (width + 1) / 2).fill_(true);
  return mask;
}

at::Tensor random_mask(const std::string& spec, int64_t n, int64_t height, int64_t width, at::Generator& gen) {
  const std::string value = spec.substr(spec.find(':') + 1);
  char* end = nullptr;
  const double p = std::strtod(value.c_str(), &end);
  if (value.empty() || *end != '\0' || !(p > 0 && p < 1))
    throw Error("mask '" + spec + "': the share of missing pixels P must lie in (0, 1), got '" + value + "'");
  return torch::rand({n, 1, height, width}, gen) < p;
}

// A mask file's values (.png or .npy) as [N or 1, 1 or C, H, W] bool.
at::Tensor file_mask(const std::string& path, int64_t n, const std::vector<int64_t>& shape) {
  const int64_t channels = shape[0], height = shape[1], width = shape[2];
  if (ends_with(path, ".png")) {
    at::Tensor picture = read_image(path, 1);  // [H, W, 1] uint8
    if (picture.size(0) != height || picture.size(1) != width)
      throw Error("mask " + path + " is " + std::to_string(picture.size(1)) + " x " + std::to_string(picture.size(0)) +
                  " pixels but the images are " + std::to_string(width) + " x " + std::to_string(height));
    if (!((picture == 0) | (picture == 255)).all().item<bool>())
      throw Error("mask " + path + " holds gray pixels: use black (keep) and white (fill) only");
    return (picture.squeeze(2) == 255).view({1, 1, height, width});
  }
  at::Tensor values = read_npy(path);
  if (!((values == 0) | (values == 1)).all().item<bool>()) throw Error("mask " + path + " holds values other than 0 and 1 (1 marks a pixel to fill)");
  const std::vector<int64_t> got(values.sizes().begin(), values.sizes().end());
  const bool fits = (got == std::vector<int64_t>{height, width}) || (got == std::vector<int64_t>{n, height, width}) ||
                    (got == std::vector<int64_t>{n, channels, height, width});
  if (!fits)
    throw Error("mask " + path + " has shape " + c10::str(values.sizes()) + "; for " + std::to_string(n) + " images of shape " +
                c10::str(c10::IntArrayRef(shape)) + " give [" + std::to_string(height) + ", " + std::to_string(width) + "], [" +
                std::to_string(n) + ", " + std::to_string(height) + ", " + std::to_string(width) + "] or [" + std::to_string(n) + ", " +
                std::to_string(channels) + ", " + std::to_string(height) + ", " + std::to_string(width) + "]");
  at::Tensor mask = values != 0;
  return got.size() == 4 ? mask : got.size() == 3 ? mask.unsqueeze(1) : mask.view({1, 1, height, width});
}
}  // namespace

at::Tensor inpainting_mask(const std::string& spec, int64_t n, const std::vector<int64_t>& image_shape, at::Generator& gen) {
  if (image_shape.size() != 3) throw Error("inpainting takes images [C, H, W], not samples of shape " + c10::str(c10::IntArrayRef(image_shape)));
  const int64_t height = image_shape[1], width = image_shape[2];
  const std::vector<std::string> regions = {"left-half", "right-half", "top-half", "bottom-half", "center"};
  at::Tensor mask;
  if (std::find(regions.begin(), regions.end(), spec) != regions.end()) {
    mask = region_mask(spec, height, width).view({1, 1, height, width});
  } else if (spec.rfind("random:", 0) == 0) {
    mask = random_mask(spec, n, height, width, gen);
  } else if (ends_with(spec, ".npy") || ends_with(spec, ".png")) {
    mask = file_mask(spec, n, image_shape);
  } else {
    std::vector<std::string> names = regions;
    names.push_back("random");
    throw Error("unknown mask '" + spec + "'" + did_you_mean(spec.substr(0, spec.find(':')), names) + " (choose " +
                join_names(inpainting_mask_names()) + ")");
  }
  if (!mask.any().item<bool>()) throw Error("mask '" + spec + "' hides no pixel: nothing to fill (1, or white, marks a pixel to fill)");
  return mask.expand({n, image_shape[0], height, width}).contiguous();
}

}  // namespace flowmatch
