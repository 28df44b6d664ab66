#include "flowmatch/figures/figures.h"

#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <limits>

#include "flowmatch/core/error.h"
#include "flowmatch/figures/chart_axes.h"
#include "flowmatch/figures/canvas.h"

namespace flowmatch {

namespace {
constexpr int kSize = 640, kMarginLeft = 70, kMarginTop = 50, kMarginRight = 20, kMarginBottom = 50;
constexpr int kColourBarWidth = 110;  // added on the right of density pictures: the bar and its labels
const Color kInk = {0.1f, 0.1f, 0.1f};

// The coordinates drawn: the first two, or (x, 0) for 1-D points.
at::Tensor first_two(const at::Tensor& points) {
  if (points.dim() != 2 || points.size(0) == 0) throw Error("a figure needs a non-empty [N, D] set of points");
  if (points.size(1) == 1) return torch::cat({points, torch::zeros_like(points)}, 1).to(torch::kDouble);
  return points.slice(1, 0, 2).to(torch::kDouble);
}

Canvas make_canvas(const PlotBox& box, const std::string& title, int extra_width = 0) {
  Canvas canvas(kSize + extra_width, kSize);
  canvas.set_plot_area(kMarginLeft, kMarginTop, kSize - kMarginRight, kSize - kMarginBottom);
  canvas.set_world(box.x_min, box.x_max, box.y_min, box.y_max);
  // A long title goes on two lines at the break nearest its middle; only one longer still is set small.
  const int room = kSize + extra_width - kMarginLeft - kMarginRight;
  size_t cut = std::string::npos;
  for (size_t i = title.find(' '); i != std::string::npos; i = title.find(' ', i + 1))
    if (cut == std::string::npos || std::abs(int(i) - int(title.size() / 2)) < std::abs(int(cut) - int(title.size() / 2))) cut = i;
  if (Canvas::text_width(title) <= room) {
    canvas.text(kMarginLeft, 15, title, kInk);
  } else if (cut != std::string::npos && Canvas::text_width(title.substr(0, cut)) <= room &&
             Canvas::text_width(title.substr(cut + 1)) <= room) {
    canvas.text(kMarginLeft, 2, title.substr(0, cut), kInk);
    canvas.text(kMarginLeft, 18, title.substr(cut + 1), kInk);
  } else {
    canvas.text(kMarginLeft, 15, title, kInk, 1);
  }
  return canvas;
}

// Frame and tick labels; with log_y the world's y is log10 of the value shown.
void draw_frame(Canvas& c, const PlotBox& box, bool log_x, bool log_y) {
  double l = c.to_px(box.x_min), r = c.to_px(box.x_max), t = c.to_py(box.y_max), b = c.to_py(box.y_min);
  for (auto [x0, y0, x1, y1] : {std::array<double, 4>{l, t, r, t}, {l, b, r, b}, {l, t, l, b}, {r, t, r, b}})
    c.line(x0, y0, x1, y1, kInk);
  for (double v : axis_ticks(box.x_min, box.x_max, log_x)) {
    double px = c.to_px(v);
    c.line(px, b, px, b + 6, kInk);
    std::string label = format_tick(log_x ? std::pow(10.0, v) : v);
    int width = Canvas::text_width(label);  // centred under its tick, but never past the canvas's edge
    c.text(std::min(int(px) - width / 2, c.width() - width - 2), int(b) + 10, label, kInk);
  }
  for (double v : axis_ticks(box.y_min, box.y_max, log_y)) {
    double py = c.to_py(v);
    c.line(l - 6, py, l, py, kInk);
    double value = log_y ? std::pow(10.0, v) : v;
    std::string label = format_tick(value);
    if (Canvas::text_width(label) > int(l) - 12) label = compact_tick(value);
    c.text(int(l) - 10 - Canvas::text_width(label), int(py) - 6, label, kInk);
  }
}

// The title, saying so when only the first two of D > 2 coordinates are drawn.
std::string titled(const std::string& title, const at::Tensor& points) {
  if (points.size(1) <= 2) return title;
  return title + " (first 2 of " + std::to_string(points.size(1)) + " coordinates)";
}

// A dark-to-bright colour map (black, purple, orange, pale yellow) at v in [0, 1].
Color colour_map(double v) {
  static const Color stops[] = {{0.0f, 0.0f, 0.02f}, {0.35f, 0.07f, 0.45f}, {0.85f, 0.3f, 0.25f}, {0.99f, 0.75f, 0.3f},
                                {0.99f, 0.99f, 0.75f}};
  double x = std::clamp(v, 0.0, 1.0) * 4;
  int i = std::min(int(x), 3);
  double f = x - i;
  Color out;
  for (int c = 0; c < 3; ++c) out[c] = float(stops[i][c] * (1 - f) + stops[i + 1][c] * f);
  return out;
}

// The colour scale beside a density picture: the bar from 0 (bottom) to `top_value`, shaded as the
// picture is (colour_map of sqrt(value / top_value)), with ticks at values (f^2 top_value) so they
// fall evenly on the bar, and `label` (what the colours count) above it.
void draw_colour_bar(Canvas& canvas, double top_value, const std::string& label) {
  const int left = kSize + 10, right = left + 18, top = kMarginTop, bottom = kSize - kMarginBottom;
  for (int py = top; py < bottom; ++py)
    for (int px = left; px < right; ++px) canvas.pixel(px, py) = colour_map(double(bottom - 1 - py) / double(bottom - 1 - top));
  for (double f : {0.0, 0.25, 0.5, 0.75, 1.0}) {
    int py = int(bottom - 1 - f * (bottom - 1 - top));
    canvas.line(right, py, right + 5, py, kInk);
    char value[32];
    std::snprintf(value, sizeof value, "%.3g", f * f * top_value);
    canvas.text(right + 8, py - 6, value, kInk);
  }
  canvas.text(kSize + 4, top - 18, label, kInk, Canvas::text_width(label) > kColourBarWidth - 8 ? 1 : 2);
}

// Fills the plot area with a grid of values in [0, 1] [rows, cols], row 0 at the bottom.
void paint_grid(Canvas& canvas, const at::Tensor& shade) {
  at::Tensor values = shade.to(torch::kDouble).contiguous();
  auto s = values.accessor<double, 2>();
  const int64_t rows = values.size(0), cols = values.size(1);
  for (int py = kMarginTop; py < kSize - kMarginBottom; ++py)
    for (int px = kMarginLeft; px < kSize - kMarginRight; ++px) {
      int64_t col = (px - kMarginLeft) * cols / (kSize - kMarginLeft - kMarginRight);
      int64_t row = (kSize - kMarginBottom - 1 - py) * rows / (kSize - kMarginTop - kMarginBottom);
      canvas.pixel(px, py) = colour_map(s[row][col]);
    }
}
}  // namespace

PlotBox square_bounds(const at::Tensor& points) {
  at::Tensor xy = first_two(points);
  at::Tensor q = torch::quantile(xy, torch::tensor({0.005, 0.995}, torch::kDouble), 0);
  double x0 = q[0][0].item<double>(), x1 = q[1][0].item<double>();
  double y0 = q[0][1].item<double>(), y1 = q[1][1].item<double>();
  double half = std::max({x1 - x0, y1 - y0, 1e-6}) * 0.55;
  double cx = (x0 + x1) / 2, cy = (y0 + y1) / 2;
  return {cx - half, cx + half, cy - half, cy + half};
}

PlotBox enclosing_square(const at::Tensor& points) {
  at::Tensor xy = first_two(points);
  at::Tensor lo = std::get<0>(xy.min(0)), hi = std::get<0>(xy.max(0));
  double x0 = lo[0].item<double>(), x1 = hi[0].item<double>(), y0 = lo[1].item<double>(), y1 = hi[1].item<double>();
  double half = std::max({x1 - x0, y1 - y0, 1e-6}) * 0.525;
  double cx = (x0 + x1) / 2, cy = (y0 + y1) / 2;
  return {cx - half, cx + half, cy - half, cy + half};
}

void draw_density_png(const std::string& path, const at::Tensor& points, const std::string& title) {
  at::Tensor xy = first_two(points);
  PlotBox box = square_bounds(xy);
  Canvas canvas = make_canvas(box, titled(title, points), kColourBarWidth);
  // Bins grow with N (about 2 points per bin on average over the box), between 32 and 256.
  int64_t bins = std::clamp<int64_t>(int64_t(std::sqrt(double(xy.size(0)) / 2)), 32, 256);
  at::Tensor ix = ((xy.select(1, 0) - box.x_min) / (box.x_max - box.x_min) * bins).floor().to(torch::kLong);
  at::Tensor iy = ((xy.select(1, 1) - box.y_min) / (box.y_max - box.y_min) * bins).floor().to(torch::kLong);
  at::Tensor inside = (ix >= 0) & (ix < bins) & (iy >= 0) & (iy < bins);
  at::Tensor counts = torch::bincount((iy * bins + ix).masked_select(inside), {}, bins * bins).to(torch::kDouble);
  const double most = counts.max().clamp_min(1).item<double>();
  paint_grid(canvas, (counts / most).sqrt().reshape({bins, bins}));
  draw_frame(canvas, box, false, false);
  draw_colour_bar(canvas, most, "samples per bin");
  canvas.save_png(path);
}

void draw_density_map_png(const std::string& path, const at::Tensor& density, const PlotBox& box, const std::string& title) {
  if (density.dim() != 2 || density.numel() == 0) throw Error("a density map needs a non-empty [rows, cols] grid");
  at::Tensor d = density.to(torch::kDouble).nan_to_num(0.0, 0.0, 0.0).clamp_min(0);
  Canvas canvas = make_canvas(box, title, kColourBarWidth);
  const double most = d.max().clamp_min(1e-300).item<double>();
  paint_grid(canvas, (d / most).sqrt());
  draw_frame(canvas, box, false, false);
  draw_colour_bar(canvas, most, "p(x), not log p");
  canvas.save_png(path);
}

void draw_trajectories_png(const std::string& path, const std::vector<at::Tensor>& states_in, const std::string& title,
                           int64_t max_paths) {
  if (states_in.size() < 2) throw Error("a trajectory figure needs at least two states");
  std::vector<at::Tensor> states;
  for (const auto& s : states_in) states.push_back(first_two(s.slice(0, 0, max_paths)));
  PlotBox box = enclosing_square(torch::cat(states, 0));  // every path whole, however far out
  Canvas canvas = make_canvas(box, titled(title, states_in.front()));
  const Color path_colour = {0.45f, 0.5f, 0.15f}, start_colour = {0, 0, 0}, end_colour = {0.1f, 0.3f, 0.85f};
  int64_t n = states.front().size(0);
  float alpha = float(std::clamp(150.0 / double(n), 0.2, 0.7));
  for (size_t k = 1; k < states.size(); ++k) {
    auto a = states[k - 1].accessor<double, 2>(), b = states[k].accessor<double, 2>();
    for (int64_t i = 0; i < n; ++i)
      canvas.line(canvas.to_px(a[i][0]), canvas.to_py(a[i][1]), canvas.to_px(b[i][0]), canvas.to_py(b[i][1]), path_colour,
                  alpha, true);
  }
  auto dots = [&](const at::Tensor& s, const Color& colour) {
    auto p = s.accessor<double, 2>();
    for (int64_t i = 0; i < n; ++i) {
      int px = int(canvas.to_px(p[i][0])), py = int(canvas.to_py(p[i][1]));
      if (canvas.in_plot_area(px, py)) canvas.fill_rect(px - 1, py - 1, px + 2, py + 2, colour, 0.8f);
    }
  };
  dots(states.front(), start_colour);
  dots(states.back(), end_colour);
  draw_frame(canvas, box, false, false);
  const int legend_y = kSize - 24;  // under the axis labels: what the marks are
  canvas.fill_rect(kMarginLeft, legend_y + 4, kMarginLeft + 6, legend_y + 10, start_colour);
  canvas.text(kMarginLeft + 10, legend_y, "start (t = 0)", kInk);
  int x = kMarginLeft + 30 + Canvas::text_width("start (t = 0)");
  canvas.fill_rect(x, legend_y + 4, x + 6, legend_y + 10, end_colour);
  canvas.text(x + 10, legend_y, "end (t = 1)", kInk);
  x += 30 + Canvas::text_width("end (t = 1)");
  canvas.line(x, legend_y + 7, x + 18, legend_y + 7, path_colour);
  canvas.text(x + 24, legend_y, "path", kInk);
  canvas.save_png(path);
}

void draw_line_chart_png(const std::string& path, const std::vector<LineSeries>& series, const std::string& title,
                         const std::string& x_label, const std::string& y_label, bool log_x, bool log_y) {
  PlotBox box = line_chart_box(series, log_x, log_y);
  Canvas canvas = make_canvas(box, title);
  for (size_t k = 0; k < series.size(); ++k) {
    const LineSeries& s = series[k];
    const Color& colour = series_colour(k);
    double last_px = NAN, last_py = NAN;
    for (size_t i = 0; i < s.x.size(); ++i) {
      if (!chart_drawable(s.x[i], s.y[i], log_x, log_y)) continue;
      double px = canvas.to_px(chart_world(s.x[i], log_x)), py = canvas.to_py(chart_world(s.y[i], log_y));
      if (!std::isnan(last_px)) canvas.line(last_px, last_py, px, py, colour);
      if (series.size() > 1) canvas.fill_rect(int(px) - 2, int(py) - 2, int(px) + 3, int(py) + 3, colour);
      last_px = px;
      last_py = py;
    }
    if (!s.name.empty()) {  // the legend, top right
      int y = kMarginTop + 8 + 18 * int(k), x = kSize - kMarginRight - 10 - Canvas::text_width(s.name);
      canvas.fill_rect(x - 24, y + 5, x - 6, y + 8, colour);
      canvas.text(x, y, s.name, colour);
    }
  }
  draw_frame(canvas, box, log_x, log_y);
  canvas.text(kSize / 2 - Canvas::text_width(x_label) / 2, kSize - 22, x_label, kInk);
  canvas.text(4, kMarginTop - 14, y_label, kInk, 1);  // above the y axis
  canvas.save_png(path);
}

void draw_loss_curve_png(const std::string& path, const std::vector<double>& steps, const std::vector<double>& losses,
                         const std::string& title) {
  if (steps.empty() || steps.size() != losses.size()) throw Error("a loss curve needs matching, non-empty steps and losses");
  std::vector<double> floored;
  for (double l : losses) floored.push_back(std::max(l, 1e-12));
  draw_line_chart_png(path, {{"", steps, floored}}, title, "step", "loss, the mean of each log interval (log scale)", false, true);
}

}  // namespace flowmatch
