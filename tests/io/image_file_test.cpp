#include <gtest/gtest.h>
#include <stb/stb_image_write.h>
#include <torch/torch.h>
#include <zlib.h>

#include <fstream>

#include "flowmatch/data/image_set.h"
#include "flowmatch/io/image_file.h"
#include "test_util.h"

namespace flowmatch {
namespace {

using testing::error_of;

void append(void* context, void* data, int size) { static_cast<std::string*>(context)->append(static_cast<char*>(data), size); }

// PNG or JPEG bytes of an [H, W, C] uint8 picture, written by stb_image_write.
std::string encode(const at::Tensor& picture, bool jpeg) {
  at::Tensor p = picture.contiguous();
  int h = int(p.size(0)), w = int(p.size(1)), c = int(p.size(2));
  std::string bytes;
  if (jpeg) stbi_write_jpg_to_func(append, &bytes, w, h, c, p.data_ptr<uint8_t>(), 95);
  else stbi_write_png_to_func(append, &bytes, w, h, c, p.data_ptr<uint8_t>(), w * c);
  return bytes;
}

at::Tensor random_picture(int h, int w, int c) { return torch::randint(0, 256, {h, w, c}, at::kByte); }

TEST(ImageFile, PngDecodesExactlyInGrayAndColour) {
  torch::manual_seed(1);
  at::Tensor rgb = random_picture(5, 7, 3), gray = random_picture(4, 3, 1);
  EXPECT_TRUE(decode_image(encode(rgb, false), 0, "rgb.png").equal(rgb));
  EXPECT_TRUE(decode_image(encode(gray, false), 0, "gray.png").equal(gray));
  EXPECT_TRUE(decode_image(encode(gray, false), 3, "gray.png").equal(gray.expand({4, 3, 3})));
  // Luma, BT.601: 0.299 R + 0.587 G + 0.114 B.
  at::Tensor red = torch::tensor({255, 0, 0}, at::kByte).view({1, 1, 3});
  EXPECT_EQ(decode_image(encode(red, false), 1, "red.png").item<uint8_t>(), 76);
}

TEST(ImageFile, TransparencyIsLaidOverWhite) {
  at::Tensor rgba = torch::tensor({10, 20, 30, 0, 10, 20, 30, 255, 0, 0, 0, 51}, at::kByte).view({1, 3, 4});
  // libpng composites in linear light: 20 % black over white is sRGB(0.8 linear) = 0.906, or 230.
  at::Tensor expected = torch::tensor({255, 255, 255, 10, 20, 30, 230, 230, 230}, at::kByte).view({1, 3, 3});
  at::Tensor decoded = decode_image(encode(rgba, false), 0, "rgba.png");
  EXPECT_TRUE(decoded.equal(expected)) << decoded;
}

TEST(ImageFile, JpegDecodesCloseToItsSource) {
  // A smooth gradient: JPEG at quality 95 keeps it within a few levels.
  at::Tensor ramp = torch::arange(0, 32).view({1, 32, 1}).expand({32, 32, 3}) * 8;
  ramp = ramp.to(at::kByte).contiguous();
  at::Tensor decoded = decode_image(encode(ramp, true), 0, "ramp.jpg");
  EXPECT_EQ(decoded.sizes(), ramp.sizes());
  EXPECT_LT((decoded.to(at::kFloat) - ramp.to(at::kFloat)).abs().mean().item<float>(), 3.0f);
}

TEST(ImageFile, RejectsDamagedAndForeignFiles) {
  torch::manual_seed(3);
  std::string png = encode(random_picture(16, 16, 3), false);
  auto error = [](const std::string& bytes) { return error_of([&] { decode_image(bytes, 0, "x.png"); }); };
  EXPECT_NE(error("").find("x.png: the file is empty"), std::string::npos);
  EXPECT_NE(error("GIF89a....").find("x.png: not a PNG or JPEG file"), std::string::npos);
  EXPECT_NE(error(png.substr(0, png.size() / 2)).find("x.png: cannot decode the PNG"), std::string::npos);
  // Noise at quality 95: kilobytes of scan data after a header of about 600 bytes, so the cut
  // falls inside the scan.
  std::string jpeg = encode(random_picture(32, 32, 3), true);
  ASSERT_GT(jpeg.size(), 2000u);
  EXPECT_NE(error(jpeg.substr(0, jpeg.size() - 500)).find("x.png: cannot decode the JPEG"), std::string::npos)
      << error(jpeg.substr(0, jpeg.size() - 500));
  EXPECT_NE(error(jpeg.substr(0, 4)).find("x.png: cannot read the JPEG header"), std::string::npos)
      << error(jpeg.substr(0, 4));
  EXPECT_NE(error(png.substr(0, 20)).find("x.png: cannot read the PNG header"), std::string::npos);
  // IHDR's width and height (bytes 16-23) rewritten to 8000 × 8000, with its CRC (bytes 29-32,
  // over bytes 12-28) recomputed.
  std::string huge = png;
  huge.replace(16, 8, std::string("\x00\x00\x1f\x40\x00\x00\x1f\x40", 8));
  uint32_t crc = uint32_t(crc32(0, reinterpret_cast<const Bytef*>(huge.data() + 12), 17));
  for (int i = 0; i < 4; ++i) huge[29 + i] = char(crc >> (24 - 8 * i) & 0xff);
  EXPECT_NE(error(huge).find("8000x8000 is over the limit"), std::string::npos) << error(huge);
  EXPECT_NE(error_of([&] { decode_image(png, 2, "x.png"); }).find("1 (gray) or 3 (RGB) channels"), std::string::npos);
}

TEST(ImageFile, FitToSquareScalesTheShortSideAndCropsTheCentre) {
  torch::manual_seed(2);
  at::Tensor wide = random_picture(4, 8, 3);
  EXPECT_TRUE(fit_to_square(wide, 4).equal(wide.narrow(1, 2, 4)));
  at::Tensor tall = torch::full({9, 3, 1}, 77, at::kByte);
  at::Tensor fitted = fit_to_square(tall, 2);
  EXPECT_EQ(fitted.sizes(), (at::IntArrayRef{2, 2, 1}));
  EXPECT_TRUE((fitted == 77).all().item<bool>());
  EXPECT_EQ(fit_to_square(random_picture(3, 5, 1), 12).sizes(), (at::IntArrayRef{12, 12, 1}));
}

class ImageFolder : public ::testing::Test {
 protected:
  void put(const std::string& name, const std::string& bytes) {
    std::filesystem::create_directories(std::filesystem::path(dir_.file(name)).parent_path());
    std::ofstream(dir_.file(name), std::ios::binary) << bytes;
  }
  testing::TempDir dir_;
};

TEST_F(ImageFolder, SubFoldersAreClassesAndGrayJoinsColour) {
  put("dogs/b.png", encode(torch::full({8, 12, 3}, 255, at::kByte), false));
  put("cats/a.png", encode(torch::zeros({6, 6, 1}, at::kByte), false));
  put("dogs/puppies/c.jpg", encode(torch::full({10, 10, 3}, 128, at::kByte), true));
  put("cats/notes.txt", "not a picture");
  put("cats/.hidden.png", "not a picture either");
  ImageSet set = read_image_folder(dir_.path(), 4, 0);
  EXPECT_EQ(set.images.sizes(), (at::IntArrayRef{3, 3, 4, 4}));
  EXPECT_EQ(set.class_names, (std::vector<std::string>{"cats", "dogs"}));
  EXPECT_TRUE(set.labels.equal(torch::tensor({0, 1, 1}, at::kLong)));
  EXPECT_TRUE((set.images[0] == -1).all().item<bool>());  // black cat, gray → RGB
  EXPECT_TRUE((set.images[1] == 1).all().item<bool>());   // white dog
  EXPECT_NEAR(set.images[2].mean().item<float>(), 128 / 127.5 - 1, 0.02);
  EXPECT_EQ(read_image_folder(dir_.path(), 4, 1).images.size(1), 1);
}

TEST_F(ImageFolder, LoosePicturesAreUnlabelled) {
  put("a.png", encode(torch::zeros({3, 3, 1}, at::kByte), false));
  put("b.PNG", encode(torch::zeros({5, 4, 1}, at::kByte), false));
  ImageSet set = read_image_folder(dir_.path(), 3, 0);
  EXPECT_FALSE(set.labelled());
  EXPECT_EQ(set.images.sizes(), (at::IntArrayRef{2, 1, 3, 3}));
}

TEST_F(ImageFolder, BadFoldersFailByName) {
  auto error = [&] { return error_of([&] { read_image_folder(dir_.path(), 8, 0); }); };
  EXPECT_NE(error().find("holds no PNG or JPEG files"), std::string::npos);
  put("empty-class/readme.txt", "");
  EXPECT_NE(error().find("empty-class: class folder holds no PNG or JPEG files"), std::string::npos);
  put("empty-class/broken.png", "\x89PNG\r\n\x1a\n and then nothing");
  EXPECT_NE(error().find("broken.png: cannot read the PNG header"), std::string::npos);
  put("loose.jpg", encode(torch::zeros({3, 3, 1}, at::kByte), true));
  EXPECT_NE(error().find("both directly and in sub-folders"), std::string::npos);
  EXPECT_NE(error_of([&] { read_image_folder(dir_.file("nowhere"), 8, 0); }).find("does not exist"), std::string::npos);
}

}  // namespace
}  // namespace flowmatch
