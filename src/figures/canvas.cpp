#include "flowmatch/figures/canvas.h"

#include <stb/stb_easy_font.h>
#include <stb/stb_image_write.h>

#include <algorithm>
#include <cmath>

#include "flowmatch/io/atomic_file.h"

namespace flowmatch {

Canvas::Canvas(int width, int height, Color background)
    : width_(width), height_(height), pixels_(size_t(width) * height, background), right_(width), bottom_(height) {}

void Canvas::set_plot_area(int left, int top, int right, int bottom) {
  left_ = left;
  top_ = top;
  right_ = right;
  bottom_ = bottom;
}

void Canvas::set_world(double x_min, double x_max, double y_min, double y_max) {
  x_min_ = x_min;
  x_max_ = x_max;
  y_min_ = y_min;
  y_max_ = y_max;
}

double Canvas::to_px(double x) const { return left_ + (x - x_min_) / (x_max_ - x_min_) * (right_ - left_); }
double Canvas::to_py(double y) const { return bottom_ - (y - y_min_) / (y_max_ - y_min_) * (bottom_ - top_); }

void Canvas::blend(int px, int py, const Color& color, float alpha) {
  if (px < 0 || py < 0 || px >= width_ || py >= height_) return;
  Color& p = pixel(px, py);
  for (int c = 0; c < 3; ++c) p[c] += alpha * (color[c] - p[c]);
}

void Canvas::line(double x0, double y0, double x1, double y1, const Color& color, float alpha, bool clip) {
  bool steep = std::abs(y1 - y0) > std::abs(x1 - x0);
  if (steep) {
    std::swap(x0, y0);
    std::swap(x1, y1);
  }
  if (x0 > x1) {
    std::swap(x0, x1);
    std::swap(y0, y1);
  }
  double gradient = x1 == x0 ? 0.0 : (y1 - y0) / (x1 - x0);
  auto plot = [&](int a, int b, double coverage) {
    int px = steep ? b : a, py = steep ? a : b;
    if (!clip || in_plot_area(px, py)) blend(px, py, color, float(alpha * coverage));
  };
  for (int x = int(std::round(x0)); x <= int(std::round(x1)); ++x) {
    double y = y0 + gradient * (x - x0);
    int base = int(std::floor(y));
    double frac = y - base;
    plot(x, base, 1 - frac);
    plot(x, base + 1, frac);
  }
}

void Canvas::fill_rect(int left, int top, int right, int bottom, const Color& color, float alpha) {
  for (int y = std::max(top, 0); y < std::min(bottom, height_); ++y)
    for (int x = std::max(left, 0); x < std::min(right, width_); ++x) blend(x, y, color, alpha);
}

void Canvas::text(int x, int y, const std::string& s, const Color& color, int scale) {
  // stb_easy_font emits axis-aligned quads of 4 vertices, 16 bytes each (x, y, z floats + RGBA).
  std::vector<char> buffer(s.size() * 270 * 4 + 1024);
  std::string copy = s;
  int quads = stb_easy_font_print(0, 0, copy.data(), nullptr, buffer.data(), int(buffer.size()));
  const float* v = reinterpret_cast<const float*>(buffer.data());
  for (int q = 0; q < quads; ++q) {
    const float* quad = v + q * 16;  // 4 vertices x 4 floats
    float qx0 = quad[0], qy0 = quad[1], qx1 = quad[8], qy1 = quad[9];
    fill_rect(x + int(qx0 * scale), y + int(qy0 * scale), x + int(qx1 * scale), y + int(qy1 * scale), color);
  }
}

int Canvas::text_width(const std::string& s, int scale) {
  std::string copy = s;
  return stb_easy_font_width(copy.data()) * scale;
}

std::string Canvas::png() const {
  std::vector<uint8_t> rgb(pixels_.size() * 3);
  for (size_t i = 0; i < pixels_.size(); ++i)
    for (int c = 0; c < 3; ++c) rgb[i * 3 + c] = uint8_t(std::lround(std::clamp(pixels_[i][c], 0.0f, 1.0f) * 255));
  std::string out;
  stbi_write_png_to_func(
      [](void* context, void* data, int size) { static_cast<std::string*>(context)->append(static_cast<char*>(data), size); },
      &out, width_, height_, 3, rgb.data(), width_ * 3);
  return out;
}

void Canvas::save_png(const std::string& path) const { write_file_atomically(path, png()); }

}  // namespace flowmatch
