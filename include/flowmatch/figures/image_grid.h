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

// The same grid for images with class labels [N] (int64): when every row holds one class, each row
// is labelled with its class's name (class_names[label], or the label's number past the names);
// rows that mix classes are left unlabelled.
void draw_labelled_image_grid_png(const std::string& path, const at::Tensor& images, const at::Tensor& labels,
                                  int64_t columns, const std::vector<std::string>& class_names);

}  // namespace flowmatch
