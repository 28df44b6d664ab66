#include <gtest/gtest.h>
#include <torch/torch.h>

#include "flowmatch/core/error.h"
#include "flowmatch/figures/canvas.h"
#include "flowmatch/figures/image_grid.h"
#include "flowmatch/io/atomic_file.h"
#include "flowmatch/io/image_file.h"
#include "test_util.h"

namespace flowmatch {
namespace {

// Three 2 x 2 images (black, white, mid-gray), unlabelled: ceil(sqrt(3)) = 2 columns at scale 2, cells of 4 x 4 pixels
// with 2-pixel gaps, so the picture is 14 x 14 and the fourth cell stays background white.
TEST(ImageGrid, PlacesEachImageInItsCell) {
  testing::TempDir dir;
  at::Tensor images = torch::stack({torch::full({1, 2, 2}, -1.0), torch::full({1, 2, 2}, 1.0), torch::zeros({1, 2, 2})});
  draw_image_grid_png(dir.file("g.png"), images, {}, {}, "", 2);
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
  draw_image_grid_png(dir.file("c.png"), red, torch::zeros({1}, torch::kLong), {"Ankle boot"}, "", 1);
  at::Tensor png = decode_image(read_file(dir.file("c.png")), 3, "c.png");
  EXPECT_GT(png.size(1), 4 + 2 * 2 + 40);  // the label's width comes first
  at::Tensor last = png[3][png.size(1) - 3];  // inside the image, at its right edge
  EXPECT_EQ(last[0].item<uint8_t>(), 255);
  EXPECT_EQ(last[1].item<uint8_t>(), 0);
  EXPECT_THROW(draw_image_grid_png(dir.file("bad.png"), torch::zeros({2, 2, 4, 4}), {}, {}, ""), Error);
  EXPECT_THROW(draw_image_grid_png(dir.file("bad.png"), torch::zeros({2, 8}), {}, {}, ""), Error);
  EXPECT_THROW(draw_image_grid_png(dir.file("bad.png"), torch::zeros({2, 1, 4, 4}), torch::zeros({3}, torch::kLong), {}, ""), Error);
  EXPECT_FALSE(std::filesystem::exists(dir.file("bad.png")));
}

// However many images, a grid is at most 16 tiles wide and 16 rows tall: 1000 images of 10 classes
// show 16 of each class, one class per row; 10 of each of 2 classes make 2 rows of 10; 1000
// unlabelled ones show the first 256. A title adds one line on top.
TEST(ImageGrid, WrapsAndCapsTilesAndTitlesTheGrid) {
  testing::TempDir dir;
  const int64_t side = 2 * 4 + 2;  // a 4 x 4 image at scale 2, and the gap
  auto size_of = [&](const at::Tensor& labels, int64_t n, const std::string& title) {
    draw_image_grid_png(dir.file("g.png"), torch::zeros({n, 1, 4, 4}), labels, {}, title);
    at::Tensor png = decode_image(read_file(dir.file("g.png")), 1, "g.png");
    return std::pair{png.size(0), png.size(1)};  // height, width
  };
  const int label_width = Canvas::text_width("0") + 8;
  EXPECT_EQ(size_of(torch::arange(1000, torch::kLong).div(100, "floor"), 1000, ""),
            std::pair(10 * side + 2, label_width + 16 * side + 2));
  EXPECT_EQ(size_of(torch::arange(20, torch::kLong).div(10, "floor"), 20, ""), std::pair(2 * side + 2, label_width + 10 * side + 2));
  EXPECT_EQ(size_of({}, 1000, ""), std::pair(16 * side + 2, 16 * side + 2));
  EXPECT_EQ(size_of({}, 1000, "x").first, 16 * side + 2 + 22);
  EXPECT_EQ(size_of(torch::arange(40, torch::kLong), 40, "").first, 16 * side + 2);  // 40 classes: the first 16
}

}  // namespace
}  // namespace flowmatch
