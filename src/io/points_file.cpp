#include "flowmatch/io/points_file.h"

#include <torch/torch.h>

#include <optional>

#include "flowmatch/core/error.h"
#include "flowmatch/core/file_name.h"
#include "flowmatch/io/csv.h"
#include "flowmatch/io/npy.h"

namespace flowmatch {

void check_points_extension(const std::string& path) {
  if (!ends_with(path, ".npy") && !ends_with(path, ".csv"))
    throw Error(path + ": unknown points format (expected a .npy or .csv file)");
}

namespace {
// The array of a points file as float32 [N, D], any values.
at::Tensor read_points_array(const std::string& path) {
  check_points_extension(path);
  at::Tensor points = (ends_with(path, ".npy") ? read_npy(path) : read_csv(path)).to(at::kFloat);
  if (points.dim() == 1) points = points.unsqueeze(1);
  if (points.dim() != 2) throw Error(path + ": expected a 2-D array [N, D], got " + std::to_string(points.dim()) + " dimensions");
  if (points.size(0) == 0 || points.size(1) == 0) throw Error(path + ": the array is empty");
  return points;
}

// Throws Error naming the file and the first row where `bad` [N, D] holds anywhere.
void refuse_rows_where(const at::Tensor& bad, const std::string& path, const std::string& what) {
  at::Tensor bad_rows = bad.any(1).nonzero();
  if (bad_rows.numel() > 0) throw Error(path + ": row " + std::to_string(bad_rows[0].item<int64_t>()) + " holds " + what);
}
}  // namespace

at::Tensor read_points(const std::string& path) {
  at::Tensor points = read_points_array(path);
  refuse_rows_where(~torch::isfinite(points), path, "a NaN or infinite value");
  return points;
}

at::Tensor read_partial_points(const std::string& path) {
  at::Tensor points = read_points_array(path);
  refuse_rows_where(points.isinf(), path, "an infinite value (NaN marks a missing one)");
  return points;
}

void write_points(const std::string& path, const at::Tensor& points) {
  check_points_extension(path);
  if (ends_with(path, ".npy")) write_npy(path, points.to(at::kFloat));
  else write_csv(path, points);
}

struct PointsWriter::Format {
  std::string path;
  int64_t rows, columns, written = 0;
  std::optional<NpyWriter> npy;
  std::optional<AtomicFileWriter> csv;
};

PointsWriter::PointsWriter(const std::string& path, int64_t rows, int64_t columns)
    : format_(new Format{path, rows, columns, 0, std::nullopt, std::nullopt}) {
  check_points_extension(path);
  if (ends_with(path, ".npy")) format_->npy.emplace(path, at::kFloat, std::vector<int64_t>{rows, columns});
  else format_->csv.emplace(path);
}

PointsWriter::~PointsWriter() = default;

void PointsWriter::append(const at::Tensor& points) {
  Format& f = *format_;
  if (points.dim() != 2 || points.size(1) != f.columns || f.written + points.size(0) > f.rows)
    throw Error("cannot write " + f.path + ": rows of shape " + c10::str(points.sizes()) + " do not fit " +
                std::to_string(f.rows) + " rows of " + std::to_string(f.columns) + " after " + std::to_string(f.written));
  if (f.npy) f.npy->append(points);
  else f.csv->write(csv_lines(points));
  f.written += points.size(0);
}

void PointsWriter::commit() {
  Format& f = *format_;
  if (f.written != f.rows)
    throw Error("cannot write " + f.path + ": " + std::to_string(f.written) + " of its " + std::to_string(f.rows) +
                " rows were given");
  if (f.npy) f.npy->commit();
  else f.csv->commit();
}

}  // namespace flowmatch
