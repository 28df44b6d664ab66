#include "flowmatch/figures/image_grid.h"

#include <torch/torch.h>

#include <algorithm>

#include "flowmatch/core/error.h"
#include "flowmatch/figures/canvas.h"

namespace flowmatch {

void draw_image_grid_png(const std::string& path, const at::Tensor& images, int64_t columns,
                         const std::vector<std::string>& row_labels, int scale) {
  if (images.dim() != 4 || (images.size(1) != 1 && images.size(1) != 3) || images.size(0) == 0)
    throw Error("an image grid needs images [N, 1 or 3, H, W], got " + c10::str(images.sizes()));
  if (columns < 1) throw Error("an image grid needs at least one column");
  const int64_t n = images.size(0), channels = images.size(1), height = images.size(2), width = images.size(3);
  const int64_t rows = (n + columns - 1) / columns, gap = 2;
  int label_width = 0;
  for (const auto& label : row_labels) label_width = std::max(label_width, Canvas::text_width(label) + 8);
  Canvas canvas(int(label_width + columns * (width * scale + gap) + gap), int(rows * (height * scale + gap) + gap));
  // [-1, 1] -> [0, 1], channels last
  at::Tensor pixels = ((images.to(torch::kFloat).clamp(-1, 1) + 1) / 2).permute({0, 2, 3, 1}).contiguous();
  auto p = pixels.accessor<float, 4>();
  for (int64_t i = 0; i < n; ++i) {
    int64_t left = label_width + gap + (i % columns) * (width * scale + gap), top = gap + (i / columns) * (height * scale + gap);
    for (int64_t y = 0; y < height * scale; ++y)
      for (int64_t x = 0; x < width * scale; ++x) {
        const float* value = &p[i][y / scale][x / scale][0];
        canvas.pixel(int(left + x), int(top + y)) = channels == 1 ? Color{value[0], value[0], value[0]} : Color{value[0], value[1], value[2]};
      }
  }
  for (size_t r = 0; r < row_labels.size() && int64_t(r) < rows; ++r)
    canvas.text(4, int(gap + r * (height * scale + gap) + (height * scale) / 2 - 6), row_labels[r], {0, 0, 0});
  canvas.save_png(path);
}

void draw_labelled_image_grid_png(const std::string& path, const at::Tensor& images, const at::Tensor& labels,
                                  int64_t columns, const std::vector<std::string>& class_names) {
  std::vector<std::string> row_labels;
  if (labels.defined() && !class_names.empty()) {
    int64_t n = images.size(0);
    for (int64_t first = 0; first < n; first += columns) {
      int64_t label = labels[first].item<int64_t>();
      if (labels.slice(0, first, std::min(n, first + columns)).ne(label).any().item<bool>()) {
        row_labels.clear();  // rows mix classes: leave them unlabelled
        break;
      }
      row_labels.push_back(label < int64_t(class_names.size()) ? class_names[label] : std::to_string(label));
    }
  }
  draw_image_grid_png(path, images, columns, row_labels);
}

}  // namespace flowmatch
