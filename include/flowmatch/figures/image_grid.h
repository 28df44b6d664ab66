#pragma once
#include <ATen/core/Tensor.h>

#include <string>
#include <vector>

namespace flowmatch {

// Grids stay readable: at most this many tiles across and this many rows (the first images shown).
constexpr int64_t kGridMaxColumns = 16, kGridMaxRows = 16;

// Images [N, C, H, W] (C = 1 or 3, values in [-1, 1], clamped) as a PNG grid, each pixel drawn as
// scale x scale pixels, under a title line (what drew them: solver, steps, guidance). Unlabelled,
// about sqrt(N) tiles across (at most 16), rows filled left to right. With class labels [N]
// (int64), one row per class in the order the classes first appear, each starting with the
// class's name (class_names[label], or the label's number past the names) and holding up to 16 of
// its images. At most 16 rows.
void draw_image_grid_png(const std::string& path, const at::Tensor& images, const at::Tensor& labels,
                         const std::vector<std::string>& class_names, const std::string& title, int scale = 2);

}  // namespace flowmatch
