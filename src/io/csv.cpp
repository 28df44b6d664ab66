#include "flowmatch/io/csv.h"

#include <ATen/Functions.h>

#include <cstdlib>
#include <sstream>

#include "flowmatch/core/error.h"
#include "flowmatch/io/atomic_file.h"

namespace flowmatch {

namespace {
// Parses one line into `out`; false when a field is not a number.
bool parse_line(const std::string& line, std::vector<float>& out) {
  out.clear();
  std::stringstream fields(line);
  std::string field;
  while (std::getline(fields, field, ',')) {
    const char* begin = field.c_str();
    char* end = nullptr;
    float value = std::strtof(begin, &end);
    while (*end == ' ' || *end == '\t' || *end == '\r') ++end;
    if (end == begin || *end != '\0') return false;
    out.push_back(value);
  }
  return !out.empty();
}
}  // namespace

at::Tensor read_csv(const std::string& path) { return parse_csv(read_file(path), path); }

at::Tensor parse_csv(const std::string& bytes, const std::string& path) {
  std::stringstream text(bytes);
  std::vector<float> values, row;
  int64_t dim = -1, rows = 0, line_number = 0;
  std::string line;
  while (std::getline(text, line)) {
    ++line_number;
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    if (!parse_line(line, row)) {
      if (rows == 0 && dim < 0 && line_number == 1) continue;  // header
      throw Error(path + ":" + std::to_string(line_number) + ": not a row of numbers: " + line.substr(0, 80));
    }
    if (dim < 0) dim = int64_t(row.size());
    if (int64_t(row.size()) != dim)
      throw Error(path + ":" + std::to_string(line_number) + ": " + std::to_string(row.size()) +
                  " columns where earlier rows have " + std::to_string(dim));
    values.insert(values.end(), row.begin(), row.end());
    ++rows;
  }
  if (rows == 0) throw Error(path + ": no rows of numbers");
  return at::tensor(values).reshape({rows, dim});
}

void write_csv(const std::string& path, const at::Tensor& points) { write_file_atomically(path, csv_lines(points)); }

std::string csv_lines(const at::Tensor& points) {
  if (points.dim() != 2) throw Error("write_csv: expected a [N, D] tensor");
  at::Tensor p = points.to(at::kDouble).contiguous();
  const double* data = p.data_ptr<double>();
  std::string text;
  char buf[32];
  for (int64_t i = 0; i < p.size(0); ++i) {
    for (int64_t j = 0; j < p.size(1); ++j) {
      std::snprintf(buf, sizeof buf, j ? ",%.9g" : "%.9g", data[i * p.size(1) + j]);
      text += buf;
    }
    text += '\n';
  }
  return text;
}

}  // namespace flowmatch
