#pragma once
#include <ATen/core/Tensor.h>

#include <array>

namespace flowmatch {

// How well points [N, 2] match the checkerboard: the fraction on the 8 on-cells, the count in each
// on-cell (row-major from the bottom-left), and how evenly the on-cell points spread over them:
// evenness = entropy of the cell shares / ln 8 (1 = perfectly even), and max_cell_deviation =
// max_c |share_c - 1/8| * 8 (0 = perfectly even).
struct CheckerboardScore {
  double on_cell_fraction = 0;
  std::array<int64_t, 8> cell_counts{};
  double evenness = 0;
  double max_cell_deviation = 0;
};

CheckerboardScore checkerboard_score(const at::Tensor& points);

}  // namespace flowmatch
