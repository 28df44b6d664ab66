#pragma once
#include <ATen/core/Tensor.h>

#include <string>
#include <vector>

#include "flowmatch/figures/chart_axes.h"

namespace flowmatch {

// PNG figures. Points of D > 2 are drawn as their first two coordinates, and the title says so.

// A square around the 0.5%..99.5% quantiles of the first two coordinates of points [N, D], with a
// 5% margin.
PlotBox square_bounds(const at::Tensor& points);
// The smallest square around every one of the points' first two coordinates, with a 5% margin.
PlotBox enclosing_square(const at::Tensor& points);

// A 2-D histogram of points [N, D] as a density image (sqrt-scaled counts through a dark-to-bright
// colour map, with its colour bar in samples per bin), with the bin count growing with N so edges
// stay sharp.
void draw_density_png(const std::string& path, const at::Tensor& points, const std::string& title);

// A density known on a regular grid [rows, cols] over `box` (row 0 at y_min, column 0 at x_min),
// drawn with the histogram's colour map and square-root scale and a colour bar in units of p (not
// log p); NaN and negative values show as 0.
void draw_density_map_png(const std::string& path, const at::Tensor& density, const PlotBox& box, const std::string& title);

// Paths from noise to data: `states` are the trajectory's states [N, D] at successive times; the
// first `max_paths` points are drawn as lines, starts in black and ends in blue (the seed's figure),
// all of every path inside the frame, with a legend of the marks.
void draw_trajectories_png(const std::string& path, const std::vector<at::Tensor>& states, const std::string& title,
                           int64_t max_paths = 600);

// Lines through the points of each series (chart_axes.h), in distinct colours, with a legend of the
// named ones, the axes' labels, and log10 axes on request (points that a log axis cannot show are
// left out).
void draw_line_chart_png(const std::string& path, const std::vector<LineSeries>& series, const std::string& title,
                         const std::string& x_label, const std::string& y_label, bool log_x, bool log_y);

// The training loss against step, on a log scale; each value is already a mean over a log interval.
void draw_loss_curve_png(const std::string& path, const std::vector<double>& steps, const std::vector<double>& losses,
                         const std::string& title);

}  // namespace flowmatch
