#pragma once
#include <ATen/core/Tensor.h>

#include <string>

namespace flowmatch {

// Comma-separated numbers, one point per line, every line with the same count. A first line that
// is not numeric is taken as a header and skipped; blank lines are ignored. Returns float32 [N, D].
at::Tensor read_csv(const std::string& path);
// The same from the file's text; `name` labels the errors.
at::Tensor parse_csv(const std::string& text, const std::string& name);
// Writes a [N, D] tensor with 9 significant digits (float32 round-trips), atomically.
void write_csv(const std::string& path, const at::Tensor& points);
// The lines write_csv writes for these rows.
std::string csv_lines(const at::Tensor& points);

}  // namespace flowmatch
