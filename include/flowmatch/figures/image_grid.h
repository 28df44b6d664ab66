#pragma once
#include <ATen/core/Tensor.h>

#include <string>
#include <vector>

namespace flowmatch {

// Images [N, C, H, W] (C = 1 or 3, values in [-1, 1], clamped) as a PNG grid of `columns` columns,
// each pixel drawn as scale x scale pixels, rows filled left to right. With row_labels, each row
// starts with its label (one row per class when sampling class by class).
void draw_image_grid_png(const std::string& path, const at::Tensor& images, int64_t columns,
                         const std::vector<std::string>& row_labels = {}, int scale = 2);

}  // namespace flowmatch
