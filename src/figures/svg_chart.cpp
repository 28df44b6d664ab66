#include "flowmatch/figures/svg_chart.h"

#include <cmath>
#include <cstdio>
#include <sstream>

#include "flowmatch/figures/chart_axes.h"

namespace flowmatch {

namespace {
constexpr double kWidth = 640, kHeight = 400, kLeft = 70, kTop = 40, kRight = 605, kBottom = 350;

std::string hex_colour(const Color& c) {
  char text[8];
  std::snprintf(text, sizeof text, "#%02x%02x%02x", int(c[0] * 255 + 0.5f), int(c[1] * 255 + 0.5f), int(c[2] * 255 + 0.5f));
  return text;
}

std::string number(double v) {
  char text[32];
  std::snprintf(text, sizeof text, "%.1f", v);
  return text;
}
}  // namespace

std::string escape_xml(const std::string& text) {
  std::string out;
  for (char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
  return out;
}

std::string svg_line_chart(const std::vector<LineSeries>& series, const std::string& title, const std::string& x_label,
                           const std::string& y_label, bool log_y) {
  const PlotBox box = line_chart_box(series, false, log_y);
  // world (x, y) -> pixel: x from [x_min, x_max] to [kLeft, kRight], y upwards from kBottom to kTop
  auto px = [&](double x) { return kLeft + (x - box.x_min) / (box.x_max - box.x_min) * (kRight - kLeft); };
  auto py = [&](double y) { return kBottom - (y - box.y_min) / (box.y_max - box.y_min) * (kBottom - kTop); };
  std::ostringstream svg;
  svg << "<svg class=\"chart\" viewBox=\"0 0 " << kWidth << " " << kHeight << "\" role=\"img\" aria-label=\""
      << escape_xml(title) << "\" xmlns=\"http://www.w3.org/2000/svg\">\n";
  svg << "<text x=\"" << kLeft << "\" y=\"22\" class=\"chart-title\">" << escape_xml(title) << "</text>\n";
  svg << "<rect x=\"" << kLeft << "\" y=\"" << kTop << "\" width=\"" << kRight - kLeft << "\" height=\"" << kBottom - kTop
      << "\" class=\"frame\"/>\n";
  for (double v : axis_ticks(box.x_min, box.x_max, false)) {
    std::string x = number(px(v));
    svg << "<line x1=\"" << x << "\" y1=\"" << kBottom << "\" x2=\"" << x << "\" y2=\"" << kBottom + 6 << "\" class=\"tick\"/>"
        << "<text x=\"" << x << "\" y=\"" << kBottom + 20 << "\" text-anchor=\"middle\">" << format_tick(v) << "</text>\n";
  }
  for (double v : axis_ticks(box.y_min, box.y_max, log_y)) {
    double value = log_y ? std::pow(10.0, v) : v;
    std::string label = format_tick(value);
    if (label.size() > 8) label = compact_tick(value);
    std::string y = number(py(v));
    svg << "<line x1=\"" << kLeft - 6 << "\" y1=\"" << y << "\" x2=\"" << kRight << "\" y2=\"" << y << "\" class=\"grid\"/>"
        << "<text x=\"" << kLeft - 9 << "\" y=\"" << y << "\" dy=\"4\" text-anchor=\"end\">" << label << "</text>\n";
  }
  svg << "<text x=\"" << (kLeft + kRight) / 2 << "\" y=\"" << kHeight - 14 << "\" text-anchor=\"middle\" class=\"x-label\">"
      << escape_xml(x_label) << "</text>\n";
  svg << "<text x=\"14\" y=\"" << (kTop + kBottom) / 2 << "\" text-anchor=\"middle\" class=\"y-label\" transform=\"rotate(-90 14 "
      << (kTop + kBottom) / 2 << ")\">" << escape_xml(y_label) << "</text>\n";
  for (size_t k = 0; k < series.size(); ++k) {
    const LineSeries& s = series[k];
    const std::string colour = hex_colour(series_colour(k));
    svg << "<g class=\"series\" stroke=\"" << colour << "\" fill=\"" << colour << "\"><polyline fill=\"none\" points=\"";
    std::ostringstream marks;
    for (size_t i = 0; i < s.x.size(); ++i) {
      if (!chart_drawable(s.x[i], s.y[i], false, log_y)) continue;
      std::string x = number(px(s.x[i])), y = number(py(chart_world(s.y[i], log_y)));
      svg << x << "," << y << " ";
      marks << "<circle cx=\"" << x << "\" cy=\"" << y << "\" r=\"2.5\"><title>" << escape_xml(s.name)
            << (s.name.empty() ? "" : ": ") << format_tick(s.y[i]) << " at " << format_tick(s.x[i]) << "</title></circle>";
    }
    svg << "\"/>" << marks.str() << "</g>\n";
    if (!s.name.empty()) {  // the legend, top right, one line per named series
      double y = kTop + 16 + 18 * double(k);
      svg << "<text x=\"" << kRight - 10 << "\" y=\"" << y << "\" text-anchor=\"end\" fill=\"" << colour
          << "\" class=\"legend\">" << escape_xml(s.name) << " &#9473;</text>\n";
    }
  }
  svg << "</svg>\n";
  return svg.str();
}

}  // namespace flowmatch
