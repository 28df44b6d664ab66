#pragma once
#include <ATen/core/Tensor.h>

#include <string>

namespace flowmatch {

// Points files by extension: .npy or .csv. Reading returns float32 [N, D] (a 1-D array is [N, 1])
// and rejects empty sets and non-finite values, naming the file and the first bad row.
at::Tensor read_points(const std::string& path);
void write_points(const std::string& path, const at::Tensor& points);
// Throws Error unless `path` ends in .npy or .csv.
void check_points_extension(const std::string& path);

}  // namespace flowmatch
