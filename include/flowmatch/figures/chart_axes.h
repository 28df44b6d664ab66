#pragma once
#include <cmath>
#include <string>
#include <vector>

#include "flowmatch/figures/canvas.h"

namespace flowmatch {

// What line charts share, drawn as PNG (figures.h) or SVG (svg_chart.h).

// A region of the plane: the drawn area of a figure.
struct PlotBox {
  double x_min, x_max, y_min, y_max;
};

// One line of a chart: its points (x[i], y[i]), named in the legend unless the name is empty.
struct LineSeries {
  std::string name;
  std::vector<double> x, y;
};

// A point of a series is drawn when both values are finite and positive on a log axis.
bool chart_drawable(double x, double y, bool log_x, bool log_y);
// A value in world units: log10 of it on a log axis.
inline double chart_world(double v, bool log) { return log ? std::log10(v) : v; }
// The world box around every drawable point, its y range padded by 5% (a flat series by 10% of
// its level, or 0.05 at zero); throws
// Error when there is no drawable point, or a series' x and y differ in length.
PlotBox line_chart_box(const std::vector<LineSeries>& series, bool log_x, bool log_y);
// Series k's colour, from a palette of six.
const Color& series_colour(size_t k);

// Tick positions in world units along an axis spanning [lo, hi], about six of them: multiples of 1,
// 2 or 5 times a power of ten. On a log axis the world values are log10 of the labels: ticks at 1,
// 2 and 5 times powers of ten when the axis spans a decade or more, else evenly spaced values.
std::vector<double> axis_ticks(double lo, double hi, bool log);

// A tick's label: "%g", with rounding noise around 0 shown as 0.
std::string format_tick(double v);

// The same value in e-notation with nothing to spare (0.0005 -> "5e-4", 25000 -> "2.5e4"), for a
// label that would not fit beside the y axis.
std::string compact_tick(double v);

}  // namespace flowmatch
