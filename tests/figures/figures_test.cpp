// Pictures a person can read: density pictures carry a colour bar, trajectory pictures keep every
// path inside the frame and say what their marks are, the loss curve labels its y axis.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "flowmatch/figures/figures.h"
#include "flowmatch/io/atomic_file.h"
#include "flowmatch/io/image_file.h"
#include "test_util.h"

namespace flowmatch {
namespace {

at::Tensor read_png(const std::string& path) { return decode_image(read_file(path), 3, path); }

// Whether any pixel of the rectangle [x0, x1) x [y0, y1) is darker than white.
bool inked(const at::Tensor& png, int x0, int x1, int y0, int y1) {
  return png.slice(0, y0, y1).slice(1, x0, x1).lt(200).any().item<bool>();
}

TEST(Figures, DensityPicturesCarryAColourBarFromDarkToBright) {
  testing::TempDir dir;
  torch::manual_seed(0);
  draw_density_png(dir.file("d.png"), torch::randn({5000, 2}), "samples");
  at::Tensor png = read_png(dir.file("d.png"));
  ASSERT_EQ(png.size(1), 640 + 110);  // the plot, then the bar and its labels
  auto brightness = [&](int y) { return png[y][655].to(torch::kInt).sum().item<int>(); };
  EXPECT_LT(brightness(585), 60);    // the bar's bottom: the colour of 0
  EXPECT_GT(brightness(55), 600);    // its top: the brightest
  EXPECT_TRUE(inked(png, 676, 740, 40, 70));  // a value beside the top tick
  EXPECT_TRUE(inked(png, 644, 750, 28, 46));  // what the colours count

  draw_density_map_png(dir.file("m.png"), torch::rand({20, 20}), {-1, 1, -1, 1}, "model density");
  EXPECT_EQ(read_png(dir.file("m.png")).size(1), 640 + 110);
}

TEST(Figures, TrajectoriesKeepEveryPathInsideAndNameTheirMarks) {
  at::Tensor start = torch::zeros({3, 2}), end = torch::tensor({{1.0, 1.0}, {-1.0, 0.5}, {50.0, -40.0}});
  PlotBox box = enclosing_square(torch::cat({start, end}));
  EXPECT_LE(box.x_min, -1.0);
  EXPECT_GE(box.x_max, 50.0);  // a far-out path is drawn whole, not cut at the quantiles
  EXPECT_LE(box.y_min, -40.0);
  EXPECT_NEAR(box.x_max - box.x_min, box.y_max - box.y_min, 1e-9);  // square
  testing::TempDir dir;
  draw_trajectories_png(dir.file("t.png"), {start, end}, "paths");
  at::Tensor png = read_png(dir.file("t.png"));
  EXPECT_TRUE(inked(png, 70, 76, 620, 630));    // the start mark in the legend
  EXPECT_TRUE(inked(png, 80, 200, 614, 632));   // and its words
}

TEST(Figures, TheLossCurveLabelsItsAxesAndKeepsItsLastTickInside) {
  testing::TempDir dir;
  std::vector<double> steps, losses;
  for (int k = 1; k <= 80; ++k) {
    steps.push_back(100.0 * k);
    losses.push_back(1.0 / k);
  }
  draw_loss_curve_png(dir.file("loss.png"), steps, losses, "training loss");
  at::Tensor png = read_png(dir.file("loss.png"));
  EXPECT_TRUE(inked(png, 4, 60, 36, 44));     // the y label, above the axis
  EXPECT_TRUE(inked(png, 600, 640, 598, 614)); // "8000", the last x tick, whole at the right edge
}

}  // namespace
}  // namespace flowmatch
