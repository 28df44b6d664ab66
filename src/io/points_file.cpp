#include "flowmatch/io/points_file.h"

#include <torch/torch.h>

#include "flowmatch/core/error.h"
#include "flowmatch/core/file_name.h"
#include "flowmatch/io/csv.h"
#include "flowmatch/io/npy.h"

namespace flowmatch {

void check_points_extension(const std::string& path) {
  if (!ends_with(path, ".npy") && !ends_with(path, ".csv"))
    throw Error(path + ": unknown points format (expected a .npy or .csv file)");
}

at::Tensor read_points(const std::string& path) {
  check_points_extension(path);
  at::Tensor points = (ends_with(path, ".npy") ? read_npy(path) : read_csv(path)).to(at::kFloat);
  if (points.dim() == 1) points = points.unsqueeze(1);
  if (points.dim() != 2) throw Error(path + ": expected a 2-D array [N, D], got " + std::to_string(points.dim()) + " dimensions");
  if (points.size(0) == 0 || points.size(1) == 0) throw Error(path + ": the array is empty");
  at::Tensor bad_rows = (~torch::isfinite(points)).any(1).nonzero();
  if (bad_rows.numel() > 0)
    throw Error(path + ": row " + std::to_string(bad_rows[0].item<int64_t>()) + " holds a NaN or infinite value");
  return points;
}

void write_points(const std::string& path, const at::Tensor& points) {
  check_points_extension(path);
  if (ends_with(path, ".npy")) write_npy(path, points.to(at::kFloat));
  else write_csv(path, points);
}

}  // namespace flowmatch
