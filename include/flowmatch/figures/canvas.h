#pragma once
#include <array>
#include <cstdint>
#include <string>
#include <vector>

namespace flowmatch {

using Color = std::array<float, 3>;  // RGB in [0, 1]

// An RGB raster with a world-to-pixel mapping for plotting: world (x, y) in
// [x_min, x_max] x [y_min, y_max] maps to the plot area, y growing upwards.
class Canvas {
 public:
  Canvas(int width, int height, Color background = {1, 1, 1});

  int width() const { return width_; }
  int height() const { return height_; }

  // The plot area in pixels (left, top, right, bottom) and the world box it shows.
  void set_plot_area(int left, int top, int right, int bottom);
  void set_world(double x_min, double x_max, double y_min, double y_max);
  double to_px(double x) const;
  double to_py(double y) const;

  // Blends `color` into pixel (px, py) with weight alpha; pixels outside are ignored.
  void blend(int px, int py, const Color& color, float alpha);
  Color& pixel(int px, int py) { return pixels_[size_t(py) * width_ + px]; }
  // Anti-aliased line between two pixel positions (Xiaolin Wu's algorithm); with clip, only the
  // part inside the plot area is drawn.
  void line(double x0, double y0, double x1, double y1, const Color& color, float alpha = 1.0f, bool clip = false);
  bool in_plot_area(int px, int py) const { return px >= left_ && px < right_ && py >= top_ && py < bottom_; }
  void fill_rect(int left, int top, int right, int bottom, const Color& color, float alpha = 1.0f);
  // Text at pixel (x, y) (top left) with stb_easy_font's glyphs, each glyph pixel `scale` pixels wide.
  void text(int x, int y, const std::string& s, const Color& color, int scale = 2);
  static int text_width(const std::string& s, int scale = 2);

  // PNG bytes (stb_image_write), and an atomic write of them.
  std::string png() const;
  void save_png(const std::string& path) const;

 private:
  int width_, height_;
  std::vector<Color> pixels_;
  int left_ = 0, top_ = 0, right_ = 0, bottom_ = 0;
  double x_min_ = 0, x_max_ = 1, y_min_ = 0, y_max_ = 1;
};

}  // namespace flowmatch
