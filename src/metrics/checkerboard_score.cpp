#include "flowmatch/metrics/checkerboard_score.h"

#include <torch/torch.h>

#include <cmath>

#include "flowmatch/core/error.h"
#include "flowmatch/data/toy_distributions.h"

namespace flowmatch {

CheckerboardScore checkerboard_score(const at::Tensor& points) {
  if (points.dim() != 2 || points.size(1) != 2) throw Error("the checkerboard score needs 2-D points");
  at::Tensor cell = checkerboard_cells(points), on = on_checkerboard(points);
  at::Tensor i = cell.select(1, 0), j = cell.select(1, 1);
  CheckerboardScore score;
  int64_t n = points.size(0), on_count = on.sum().item<int64_t>();
  score.on_cell_fraction = n ? double(on_count) / double(n) : 0.0;
  // On-cell index j * 2 + i / 2 enumerates the 8 on-cells row by row.
  at::Tensor index = (j * 2 + i.div(2, "floor")).masked_select(on);
  at::Tensor counts = torch::bincount(index, {}, 8);
  for (int c = 0; c < 8; ++c) score.cell_counts[c] = counts[c].item<int64_t>();
  if (on_count > 0) {
    double entropy = 0, deviation = 0;
    for (int64_t count : score.cell_counts) {
      double share = double(count) / double(on_count);
      if (share > 0) entropy -= share * std::log(share);
      deviation = std::max(deviation, std::abs(share - 0.125) * 8);
    }
    score.evenness = entropy / std::log(8.0);
    score.max_cell_deviation = deviation;
  }
  return score;
}

}  // namespace flowmatch
