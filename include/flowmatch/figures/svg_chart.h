#pragma once
#include <string>
#include <vector>

#include "flowmatch/figures/chart_axes.h"

namespace flowmatch {

// Text made safe inside XML and HTML: & < > " ' as entities.
std::string escape_xml(const std::string& text);

// A line chart as an inline <svg> element with a viewBox and no fixed size, so it scales to the
// width of what holds it: the axes, ticks and colours of draw_line_chart_png (chart_axes.h), a
// legend of the named series, and each point's value in a tooltip (<title>).
std::string svg_line_chart(const std::vector<LineSeries>& series, const std::string& title, const std::string& x_label,
                           const std::string& y_label, bool log_y);

}  // namespace flowmatch
