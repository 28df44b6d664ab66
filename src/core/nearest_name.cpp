#include "flowmatch/core/nearest_name.h"

#include <algorithm>
#include <cctype>

namespace flowmatch {

namespace {
// Optimal string alignment distance: d[i][j] = min(d[i-1][j] + 1, d[i][j-1] + 1,
// d[i-1][j-1] + [a_i != b_j], d[i-2][j-2] + 1 when a_i a_{i-1} = b_{j-1} b_j).
size_t edit_distance(const std::string& a, const std::string& b) {
  auto same = [](char x, char y) { return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y)); };
  std::vector<std::vector<size_t>> d(a.size() + 1, std::vector<size_t>(b.size() + 1));
  for (size_t i = 0; i <= a.size(); ++i) d[i][0] = i;
  for (size_t j = 0; j <= b.size(); ++j) d[0][j] = j;
  for (size_t i = 1; i <= a.size(); ++i)
    for (size_t j = 1; j <= b.size(); ++j) {
      d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (same(a[i - 1], b[j - 1]) ? 0 : 1)});
      if (i > 1 && j > 1 && same(a[i - 1], b[j - 2]) && same(a[i - 2], b[j - 1])) d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
    }
  return d[a.size()][b.size()];
}
}  // namespace

std::string nearest_name(const std::string& given, const std::vector<std::string>& names) {
  std::string nearest;
  size_t best = std::min<size_t>(3, std::max<size_t>(1, given.size() / 3)) + 1;
  for (const std::string& name : names) {
    size_t distance = edit_distance(given, name);
    if (distance < best) {
      best = distance;
      nearest = name;
    }
  }
  return nearest;
}

std::string did_you_mean(const std::string& given, const std::vector<std::string>& names) {
  std::string nearest = nearest_name(given, names);
  return nearest.empty() ? "" : "; did you mean " + nearest + "?";
}

}  // namespace flowmatch
