#include <gtest/gtest.h>
#include <torch/torch.h>

#include "flowmatch/core/error.h"
#include "flowmatch/figures/image_grid.h"
#include "flowmatch/io/atomic_file.h"
#include "flowmatch/io/image_file.h"
#include "test_util.h"

namespace flowmatch {
namespace {

// Three 2 x 2 images (black, white, mid-gray) in 2 columns at scale 2: cells of 4 x 4 pixels
// with 2-pixel gaps, so the picture is 14 x 14 and the fourth cell stays background white.
TEST(ImageGrid, PlacesEachImageInItsCell) {
  testing::TempDir dir;
  at::Tensor images = torch::stack({torch::full({1, 2, 2}, -1.0), torch::full({1, 2, 2}, 1.0), torch::zeros({1, 2, 2})});
  draw_image_grid_png(dir.file("g.png"), images, 2, {}, 2);
  at::Tensor png = decode_image(read_file(dir.file("g.png")), 1, "g.png");
  ASSERT_EQ(png.sizes(), (std::vector<int64_t>{14, 14, 1}));
  auto at = [&](int y, int x) { return int(png[y][x][0].item<uint8_t>()); };
  EXPECT_EQ(at(2, 2), 0);
  EXPECT_EQ(at(5, 5), 0);
  EXPECT_EQ(at(2, 8), 255);
  EXPECT_NEAR(at(8, 2), 128, 1);
  EXPECT_EQ(at(8, 8), 255);  // no fourth image
  EXPECT_EQ(at(2, 6), 255);  // the gap between cells
}

TEST(ImageGrid, LabelsWidenTheGridAndColourStaysColour) {
  testing::TempDir dir;
  at::Tensor red = torch::stack({torch::tensor({1.0f, -1.0f, -1.0f}).view({3, 1, 1}).expand({3, 4, 4})});
  draw_image_grid_png(dir.file("c.png"), red, 1, {"Ankle boot"}, 1);
  at::Tensor png = decode_image(read_file(dir.file("c.png")), 3, "c.png");
  EXPECT_GT(png.size(1), 4 + 2 * 2 + 40);  // the label's width comes first
  at::Tensor last = png[3][png.size(1) - 3];  // inside the image, at its right edge
  EXPECT_EQ(last[0].item<uint8_t>(), 255);
  EXPECT_EQ(last[1].item<uint8_t>(), 0);
  EXPECT_THROW(draw_image_grid_png(dir.file("bad.png"), torch::zeros({2, 2, 4, 4}), 1), Error);
  EXPECT_THROW(draw_image_grid_png(dir.file("bad.png"), torch::zeros({2, 8}), 1), Error);
  EXPECT_FALSE(std::filesystem::exists(dir.file("bad.png")));
}

}  // namespace
}  // namespace flowmatch
