#include "flowmatch/figures/image_grid.h"

#include <torch/torch.h>

#include <algorithm>
#include <cmath>

#include "flowmatch/core/error.h"
#include "flowmatch/figures/canvas.h"

namespace flowmatch {

namespace {
// The rows of a grid: the indices of the images in each, and the row's label ("" = none).
struct GridRow {
  std::vector<int64_t> images;
  std::string label;
};

std::vector<GridRow> grid_rows(int64_t n, const at::Tensor& labels, const std::vector<std::string>& class_names) {
  std::vector<GridRow> rows;
  if (!labels.defined()) {
    const int64_t columns = std::clamp<int64_t>(int64_t(std::ceil(std::sqrt(double(n)))), 1, kGridMaxColumns);
    for (int64_t i = 0; i < n && int64_t(rows.size()) <= kGridMaxRows; ++i) {
      if (i % columns == 0) rows.emplace_back();
      rows.back().images.push_back(i);
    }
    if (int64_t(rows.size()) > kGridMaxRows) rows.pop_back();
    return rows;
  }
  std::vector<int64_t> row_of_label;  // label -> its row + 1 (0: none yet)
  for (int64_t i = 0; i < n; ++i) {
    int64_t label = labels[i].item<int64_t>();
    if (label >= int64_t(row_of_label.size())) row_of_label.resize(size_t(label) + 1, 0);
    int64_t& row = row_of_label[size_t(label)];
    if (row == 0) {
      if (int64_t(rows.size()) == kGridMaxRows) continue;
      rows.push_back({{}, label < int64_t(class_names.size()) ? class_names[size_t(label)] : std::to_string(label)});
      row = int64_t(rows.size());
    }
    if (int64_t(rows[size_t(row - 1)].images.size()) < kGridMaxColumns) rows[size_t(row - 1)].images.push_back(i);
  }
  return rows;
}
}  // namespace

void draw_image_grid_png(const std::string& path, const at::Tensor& images, const at::Tensor& labels,
                         const std::vector<std::string>& class_names, const std::string& title, int scale) {
  if (images.dim() != 4 || (images.size(1) != 1 && images.size(1) != 3) || images.size(0) == 0)
    throw Error("an image grid needs images [N, 1 or 3, H, W], got " + c10::str(images.sizes()));
  if (labels.defined() && (labels.dim() != 1 || labels.size(0) != images.size(0)))
    throw Error("an image grid's labels must be [N] for images [N, ...], got " + c10::str(labels.sizes()));
  const int64_t channels = images.size(1), height = images.size(2), width = images.size(3), gap = 2;
  const std::vector<GridRow> rows = grid_rows(images.size(0), labels, class_names);
  int label_width = 0;
  size_t columns = 0;
  for (const GridRow& row : rows) {
    if (!row.label.empty()) label_width = std::max(label_width, Canvas::text_width(row.label) + 8);
    columns = std::max(columns, row.images.size());
  }
  const int title_height = title.empty() ? 0 : 22;
  const int tiles_width = int(int64_t(columns) * (width * scale + gap) + gap);
  Canvas canvas(std::max(label_width + tiles_width, Canvas::text_width(title) + 8),
                int(title_height + int64_t(rows.size()) * (height * scale + gap) + gap));
  if (!title.empty()) canvas.text(4, 4, title, {0, 0, 0});
  // [-1, 1] -> [0, 1], channels last
  at::Tensor pixels = ((images.to(torch::kFloat).clamp(-1, 1) + 1) / 2).permute({0, 2, 3, 1}).contiguous();
  auto p = pixels.accessor<float, 4>();
  for (size_t r = 0; r < rows.size(); ++r) {
    const int64_t top = title_height + gap + int64_t(r) * (height * scale + gap);
    if (!rows[r].label.empty()) canvas.text(4, int(top + (height * scale) / 2 - 6), rows[r].label, {0, 0, 0});
    for (size_t c = 0; c < rows[r].images.size(); ++c) {
      const int64_t i = rows[r].images[c], left = label_width + gap + int64_t(c) * (width * scale + gap);
      for (int64_t y = 0; y < height * scale; ++y)
        for (int64_t x = 0; x < width * scale; ++x) {
          const float* value = &p[i][y / scale][x / scale][0];
          canvas.pixel(int(left + x), int(top + y)) =
              channels == 1 ? Color{value[0], value[0], value[0]} : Color{value[0], value[1], value[2]};
        }
    }
  }
  canvas.save_png(path);
}

}  // namespace flowmatch
