#pragma once
#include <ATen/core/Generator.h>
#include <ATen/core/Tensor.h>

#include <string>
#include <vector>

namespace flowmatch {

// Which pixels inpainting fills, as a bool tensor [N, C, H, W]: true where a pixel is missing.
// `spec` is a built-in mask or a file:
//   left-half, right-half, top-half, bottom-half   the named half of every image (the larger half
//                                                  when the side is odd)
//   center                                         the centred square of half the side
//   random:P                                       each pixel missing with probability P (0 < P < 1),
//                                                  drawn per image from `gen`, every channel alike
//   FILE.npy                                       0/1 (or bool) values, 1 = fill: [H, W] for every
//                                                  image, [N, H, W] or [N, C, H, W] for each
//   FILE.png                                       a picture of H x W pixels: white fills, black keeps
// A mask of the wrong size, with values other than 0 and 1 (black and white), or that hides no pixel
// at all is refused, naming the file and what it holds.
at::Tensor inpainting_mask(const std::string& spec, int64_t n, const std::vector<int64_t>& image_shape, at::Generator& gen);

std::vector<std::string> inpainting_mask_names();  // the built-ins, for help and errors

}  // namespace flowmatch
