// The inpainting masks: each built-in hides the pixels its name says, files are read in every
// shape they may take, and masks that cannot be meant are refused by name.
#include "flowmatch/data/image_mask.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "flowmatch/figures/canvas.h"
#include "flowmatch/io/npy.h"
#include "test_util.h"

namespace flowmatch {
namespace {

at::Tensor mask_of(const std::string& spec, int64_t n = 2, std::vector<int64_t> shape = {1, 8, 8}) {
  at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(3);
  return inpainting_mask(spec, n, shape, gen);
}

// The [H, W] mask of the first image and channel, as the picture it draws: one string per row.
std::vector<std::string> drawn(const at::Tensor& mask) {
  std::vector<std::string> rows;
  for (int64_t y = 0; y < mask.size(2); ++y) {
    rows.emplace_back();
    for (int64_t x = 0; x < mask.size(3); ++x) rows.back() += mask[0][0][y][x].item<bool>() ? '#' : '.';
  }
  return rows;
}

TEST(InpaintingMask, BuiltInsHideWhatTheirNamesSay) {
  EXPECT_EQ(drawn(mask_of("right-half", 1, {1, 3, 5})), (std::vector<std::string>{"..###", "..###", "..###"}));
  EXPECT_EQ(drawn(mask_of("left-half", 1, {1, 3, 5})), (std::vector<std::string>{"###..", "###..", "###.."}));
  EXPECT_EQ(drawn(mask_of("top-half", 1, {1, 3, 2})), (std::vector<std::string>{"##", "##", ".."}));
  EXPECT_EQ(drawn(mask_of("bottom-half", 1, {1, 3, 2})), (std::vector<std::string>{"..", "##", "##"}));
  EXPECT_EQ(drawn(mask_of("center", 1, {1, 6, 6})),
            (std::vector<std::string>{"......", ".###..", ".###..", ".###..", "......", "......"}));
  at::Tensor right = mask_of("right-half", 3, {3, 28, 28});
  EXPECT_EQ(right.sizes(), c10::IntArrayRef({3, 3, 28, 28}));
  EXPECT_EQ(right.sum().item<int64_t>(), 3 * 3 * 28 * 14) << "every image and channel alike";
}

TEST(InpaintingMask, RandomHidesItsShareEveryChannelAlikeAndDiffersPerImage) {
  at::Tensor mask = mask_of("random:0.3", 50, {3, 28, 28});
  EXPECT_NEAR(mask.to(torch::kDouble).mean().item<double>(), 0.3, 0.01);
  EXPECT_TRUE(torch::equal(mask.select(1, 0), mask.select(1, 2)));
  EXPECT_FALSE(torch::equal(mask[0], mask[1]));
  EXPECT_TRUE(torch::equal(mask, mask_of("random:0.3", 50, {3, 28, 28}))) << "the same seed, the same mask";
}

TEST(InpaintingMask, ReadsFilesInEachShape) {
  testing::TempDir dir;
  at::Tensor one = torch::zeros({4, 4}, torch::kLong);
  one[1][2] = 1;
  write_npy(dir.file("one.npy"), one);
  at::Tensor mask = mask_of(dir.file("one.npy"), 2, {1, 4, 4});
  EXPECT_EQ(mask.sum().item<int64_t>(), 2);
  EXPECT_TRUE(mask[1][0][1][2].item<bool>());
  at::Tensor each = torch::zeros({2, 4, 4}, torch::kFloat);
  each[1][3][3] = 1;
  write_npy(dir.file("each.npy"), each);
  mask = mask_of(dir.file("each.npy"), 2, {1, 4, 4});
  EXPECT_EQ(mask.sum().item<int64_t>(), 1);
  EXPECT_TRUE(mask[1][0][3][3].item<bool>());
  Canvas picture(4, 4, {0, 0, 0});
  picture.pixel(0, 3) = {1, 1, 1};  // white fills
  picture.save_png(dir.file("mask.png"));
  mask = mask_of(dir.file("mask.png"), 1, {1, 4, 4});
  EXPECT_EQ(mask.sum().item<int64_t>(), 1);
  EXPECT_TRUE(mask[0][0][3][0].item<bool>());
}

TEST(InpaintingMask, RefusesMasksThatCannotBeMeant) {
  testing::TempDir dir;
  write_npy(dir.file("small.npy"), torch::ones({5, 5}));
  write_npy(dir.file("two.npy"), torch::full({8, 8}, 2.0));
  write_npy(dir.file("none.npy"), torch::zeros({8, 8}));
  Canvas gray(8, 8, {0.5f, 0.5f, 0.5f});
  gray.save_png(dir.file("gray.png"));
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"rigth-half", "did you mean right-half"},
      {"random:1.5", "must lie in (0, 1)"},
      {"random:", "must lie in (0, 1)"},
      {dir.file("small.npy"), "has shape [5, 5]; for 2 images of shape [1, 8, 8] give [8, 8]"},
      {dir.file("two.npy"), "values other than 0 and 1"},
      {dir.file("none.npy"), "hides no pixel"},
      {dir.file("gray.png"), "gray pixels"},
      {dir.file("missing.npy"), "missing.npy"},
      {"mask.txt", "unknown mask 'mask.txt' (choose left-half"},
  };
  for (const auto& [spec, message] : cases)
    EXPECT_NE(testing::error_of([&] { mask_of(spec); }).find(message), std::string::npos) << spec << ": " << testing::error_of([&] { mask_of(spec); });
}

}  // namespace
}  // namespace flowmatch
