#include "flowmatch/figures/chart_axes.h"

#include <algorithm>
#include <cmath>
#include <iterator>
#include <cstdio>
#include <limits>

#include "flowmatch/core/error.h"

namespace flowmatch {

namespace {
// About six tick values in [lo, hi], multiples of a step of 1, 2 or 5 times a power of ten.
std::vector<double> linear_ticks(double lo, double hi) {
  double raw = (hi - lo) / 6, power = std::pow(10.0, std::floor(std::log10(raw))), step = 10 * power;
  for (double m : {5.0, 2.0, 1.0})
    if (m * power >= raw) step = m * power;
  std::vector<double> ticks;
  for (double v = std::ceil(lo / step) * step; v <= hi + 1e-9 * step; v += step) ticks.push_back(v);
  return ticks;
}
}  // namespace

bool chart_drawable(double x, double y, bool log_x, bool log_y) {
  return std::isfinite(x) && std::isfinite(y) && (!log_x || x > 0) && (!log_y || y > 0);
}

PlotBox line_chart_box(const std::vector<LineSeries>& series, bool log_x, bool log_y) {
  double inf = std::numeric_limits<double>::infinity();
  PlotBox box = {inf, -inf, inf, -inf};
  for (const auto& s : series) {
    if (s.x.size() != s.y.size()) throw Error("a line chart's series '" + s.name + "' has unequal x and y");
    for (size_t i = 0; i < s.x.size(); ++i) {
      if (!chart_drawable(s.x[i], s.y[i], log_x, log_y)) continue;
      box = {std::min(box.x_min, chart_world(s.x[i], log_x)), std::max(box.x_max, chart_world(s.x[i], log_x)),
             std::min(box.y_min, chart_world(s.y[i], log_y)), std::max(box.y_max, chart_world(s.y[i], log_y))};
    }
  }
  if (!(box.x_min <= box.x_max)) throw Error("a line chart needs at least one point it can draw");
  if (box.x_max == box.x_min) box.x_max = box.x_min + 1;
  // 5% of the range; a flat series gets 10% of its value (0.05 at zero) either side
  double range = box.y_max - box.y_min, level = std::max(std::abs(box.y_min), std::abs(box.y_max));
  double pad = range > 0 ? 0.05 * range : level > 0 ? 0.1 * level : 0.05;
  box.y_min -= pad;
  box.y_max += pad;
  return box;
}

const Color& series_colour(size_t k) {
  static const Color palette[] = {{0.1f, 0.25f, 0.7f},  {0.85f, 0.35f, 0.1f}, {0.15f, 0.6f, 0.2f},
                                  {0.7f, 0.15f, 0.55f}, {0.45f, 0.45f, 0.45f}, {0.0f, 0.65f, 0.75f}};
  return palette[k % std::size(palette)];
}

std::vector<double> axis_ticks(double lo, double hi, bool log) {
  if (!log) return linear_ticks(lo, hi);
  std::vector<double> ticks;
  if (hi - lo >= 1) {
    for (int k = int(std::floor(lo)); k <= int(std::ceil(hi)); ++k)
      for (double m : {1.0, 2.0, 5.0})
        if (double v = std::log10(m) + k; v >= lo && v <= hi) ticks.push_back(v);
  } else {
    for (double v : linear_ticks(std::pow(10.0, lo), std::pow(10.0, hi))) ticks.push_back(std::log10(v));
  }
  return ticks;
}

std::string format_tick(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", std::abs(v) < 1e-12 ? 0.0 : v);
  return buf;
}

std::string compact_tick(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2e", v);
  std::string text = buf;
  size_t e = text.find('e');
  std::string mantissa = text.substr(0, e), exponent = text.substr(e + 1);
  mantissa.erase(mantissa.find_last_not_of('0') + 1);
  if (mantissa.back() == '.') mantissa.pop_back();
  std::string sign = exponent[0] == '-' ? "-" : "";
  exponent.erase(0, exponent.find_first_not_of("+-0"));
  return mantissa + "e" + sign + (exponent.empty() ? "0" : exponent);
}

}  // namespace flowmatch
