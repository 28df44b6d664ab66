#pragma once
#include <ATen/core/Tensor.h>

#include <string>

namespace flowmatch {

// PNG and JPEG pictures, decoded with libpng and libjpeg-turbo (stb_image was dropped: fuzzing
// found an out-of-bounds write in its JPEG decoder, see docs/reliability.md). Anything else, a
// picture over 2^25 pixels, or a damaged file is refused with `name` and the reason.

// Decodes to an [H, W, C] uint8 tensor. `channels` is 1 (gray), 3 (RGB) or 0 to keep the file's
// own (1 for gray, 3 for colour). Transparent pixels are laid over white.
at::Tensor decode_image(const std::string& bytes, int channels, const std::string& name);
at::Tensor read_image(const std::string& path, int channels);

// Scales an [H, W, C] uint8 picture so that its shorter side is `size` (stb_image_resize's
// default filters), then cuts the centred square: [size, size, C].
at::Tensor fit_to_square(const at::Tensor& image, int size);

}  // namespace flowmatch
