#include "flowmatch/data/conditional_data.h"

#include <torch/torch.h>

#include <cmath>
#include <sstream>
#include <vector>

#include "flowmatch/core/error.h"
#include "flowmatch/io/points_file.h"

namespace flowmatch {

namespace {
// "A:B" -> {A, B} with 0 <= A < B <= columns.
std::pair<int64_t, int64_t> column_range(const std::string& range, int64_t columns, const std::string& file) {
  long long a = -1, b = -1;
  char tail = 0;  // anything after B makes sscanf count 3
  if (std::sscanf(range.c_str(), "%lld:%lld%c", &a, &b, &tail) != 2 || a < 0 || b <= a || b > columns)
    throw Error("--context-columns must be A:B with 0 <= A < B <= " + std::to_string(columns) + " (the columns of " +
                file + "), got '" + range + "'");
  if (b - a == columns) throw Error("--context-columns " + range + " takes every column of " + file + ", leaving no x");
  return {a, b};
}
}  // namespace

ConditionalData load_conditional_data(const std::string& data, const std::string& context_file,
                                      const std::string& context_columns) {
  if (context_file.empty() == context_columns.empty())
    throw Error("give the context as either --context FILE or --context-columns A:B, not both");
  at::Tensor x = read_points(data);
  if (!context_columns.empty()) {
    auto [a, b] = column_range(context_columns, x.size(1), data);
    at::Tensor rest = torch::cat({x.slice(1, 0, a), x.slice(1, b)}, 1);
    return {rest.contiguous(), x.slice(1, a, b).contiguous()};
  }
  at::Tensor context = read_points(context_file);
  if (context.size(0) != x.size(0))
    throw Error("the data " + data + " has " + std::to_string(x.size(0)) + " rows but the context " + context_file +
                " has " + std::to_string(context.size(0)) + ": give one context row per data row");
  return {x, context};
}

at::Tensor read_contexts(const std::string& file, const std::string& values) {
  if (file.empty() == values.empty()) throw Error("give the context as either --context FILE or --context-values A,B,..., not both");
  if (!file.empty()) return read_points(file);
  std::vector<float> row;
  std::stringstream stream(values);
  std::string item;
  while (std::getline(stream, item, ',')) {
    char* end = nullptr;
    float v = std::strtof(item.c_str(), &end);
    if (item.empty() || *end != '\0' || !std::isfinite(v))
      throw Error("--context-values must be finite numbers separated by commas, got '" + values + "'");
    row.push_back(v);
  }
  if (row.empty()) throw Error("--context-values is empty");
  return torch::tensor(row).unsqueeze(0);
}

}  // namespace flowmatch
