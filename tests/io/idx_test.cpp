#include <gtest/gtest.h>
#include <torch/torch.h>
#include <zlib.h>

#include <cmath>
#include <fstream>

#include "flowmatch/core/error.h"
#include "flowmatch/data/image_set.h"
#include "flowmatch/io/gzip.h"
#include "flowmatch/io/idx.h"
#include "test_util.h"

namespace flowmatch {
namespace {

using testing::error_of;

// An IDX file: 0 0 TYPE NDIM, big-endian sizes, then `payload` (already big-endian).
std::string idx_bytes(uint8_t type, const std::vector<uint32_t>& shape, const std::string& payload) {
  std::string bytes = {0, 0, char(type), char(shape.size())};
  for (uint32_t dim : shape)
    for (int shift = 24; shift >= 0; shift -= 8) bytes.push_back(char(dim >> shift & 0xff));
  return bytes + payload;
}

std::string gzip(const std::string& plain) {
  z_stream stream{};
  EXPECT_EQ(deflateInit2(&stream, Z_BEST_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY), Z_OK);
  std::string out(deflateBound(&stream, plain.size()), '\0');
  stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(plain.data()));
  stream.avail_in = uInt(plain.size());
  stream.next_out = reinterpret_cast<Bytef*>(out.data());
  stream.avail_out = uInt(out.size());
  EXPECT_EQ(deflate(&stream, Z_FINISH), Z_STREAM_END);
  out.resize(stream.total_out);
  deflateEnd(&stream);
  return out;
}

TEST(Idx, ReadsEveryTypeBigEndianPlainOrGzipped) {
  std::string u8 = idx_bytes(0x08, {2, 3}, std::string("\x00\x01\x02\xfd\xfe\xff", 6));
  for (const std::string& bytes : {u8, gzip(u8)}) {
    at::Tensor t = parse_idx(bytes, "u8");
    EXPECT_EQ(t.scalar_type(), at::kByte);
    EXPECT_TRUE(t.equal(torch::tensor({0, 1, 2, 253, 254, 255}, at::kByte).view({2, 3})));
  }
  EXPECT_TRUE(parse_idx(idx_bytes(0x09, {2}, "\xff\x05"), "i8").equal(torch::tensor({-1, 5}, at::kChar)));
  // 0xFFFE = -2 and 0x012C = 300 as big-endian int16.
  EXPECT_TRUE(parse_idx(idx_bytes(0x0B, {2}, std::string("\xff\xfe\x01\x2c", 4)), "i16")
                  .equal(torch::tensor({-2, 300}, at::kShort)));
  EXPECT_TRUE(parse_idx(idx_bytes(0x0C, {1}, std::string("\x00\x01\x00\x00", 4)), "i32")
                  .equal(torch::tensor({65536}, at::kInt)));
  // 1.5f is 0x3FC00000; 1.5 is 0x3FF8000000000000.
  EXPECT_TRUE(parse_idx(idx_bytes(0x0D, {1, 1}, std::string("\x3f\xc0\x00\x00", 4)), "f32")
                  .equal(torch::full({1, 1}, 1.5f)));
  EXPECT_TRUE(parse_idx(idx_bytes(0x0E, {1}, std::string("\x3f\xf8\0\0\0\0\0\0", 8)), "f64")
                  .equal(torch::full({1}, 1.5, at::kDouble)));
  EXPECT_EQ(parse_idx(idx_bytes(0x08, {0, 28}, ""), "empty set").numel(), 0);
}

TEST(Idx, RejectsMalformedFilesByName) {
  auto error = [](const std::string& bytes) { return error_of([&] { parse_idx(bytes, "bad.idx"); }); };
  EXPECT_NE(error("").find("bad.idx: not a valid IDX file: the file is empty"), std::string::npos);
  EXPECT_NE(error(std::string("\0\0\x08", 3)).find("truncated header"), std::string::npos);
  EXPECT_NE(error("P5 28 28").find("two zero bytes"), std::string::npos);
  EXPECT_NE(error(idx_bytes(0x07, {1}, "x")).find("unknown type code 7"), std::string::npos);
  EXPECT_NE(error(idx_bytes(0x08, {}, "")).find("no dimensions"), std::string::npos);
  EXPECT_NE(error(idx_bytes(0x08, {3, 2, 1}, "").substr(0, 10)).find("truncated header (3 dimensions"),
            std::string::npos);
  EXPECT_NE(error(idx_bytes(0x08, {2, 3}, "12345")).find("needs 6 bytes of data but the file has 5"), std::string::npos);
  std::string too_long = error(idx_bytes(0x08, {2, 3}, "1234567"));
  EXPECT_EQ(too_long.substr(too_long.size() - 18), "but the file has 7");
  EXPECT_NE(error(gzip(idx_bytes(0x08, {2, 3}, "1234567"))).find("has 7 or more"), std::string::npos);
  EXPECT_NE(error(idx_bytes(0x0E, {0xffffffff, 0xffffffff, 0xffffffff}, "")).find("shape too large"), std::string::npos);
  // A zero size does not excuse the others (the fuzzer found one that took 10 s to refuse).
  EXPECT_NE(error(idx_bytes(0x0D, {0, 0xffffffff, 0xffffffff, 0xffffffff}, "")).find("shape too large"), std::string::npos);
  std::string nan(4, '\0');
  nan[0] = '\x7f', nan[1] = '\xc0';  // a float32 quiet NaN, big-endian
  EXPECT_NE(error(idx_bytes(0x0D, {1}, nan)).find("NaN or infinite"), std::string::npos);

  std::string images = gzip(idx_bytes(0x08, {100, 28, 28}, std::string(78400, '\x11')));
  EXPECT_NE(error(images.substr(0, images.size() - 6)).find("truncated file"), std::string::npos);
  std::string damaged = images;
  damaged[damaged.size() - 8] ^= 0x55;  // the stored CRC-32
  EXPECT_NE(error(damaged).find("bad.idx: corrupt gzip data: incorrect data check"), std::string::npos);
  // A header that claims 10^9 pixels over a few bytes of data fails on the data, not on memory.
  std::string lying = gzip(idx_bytes(0x08, {1000000, 1000}, "tiny"));
  EXPECT_NE(error(lying).find("needs 1000000000 bytes of data but the file has 4"), std::string::npos);
}

TEST(Idx, GunzipStopsAtItsLimit) {
  std::string plain(5000, 'a');
  EXPECT_EQ(gunzip(gzip(plain), 100, "g"), plain.substr(0, 100));
  EXPECT_EQ(gunzip(gzip(plain), 1 << 20, "g"), plain);
  EXPECT_FALSE(is_gzip(plain));
}

TEST(ImageSet, FashionMnistTestSplitIsTenBalancedClassesInUnitRange) {
  ImageSet set = builtin_image_set("fashion-mnist", "test");
  EXPECT_EQ(set.images.sizes(), (at::IntArrayRef{10000, 1, 28, 28}));
  EXPECT_EQ(set.images.min().item<float>(), -1.0f);
  EXPECT_EQ(set.images.max().item<float>(), 1.0f);
  EXPECT_TRUE(torch::bincount(set.labels).equal(torch::full({10}, 1000, at::kLong)));
  EXPECT_EQ(set.class_names.at(7), "Sneaker");
  EXPECT_NE(error_of([] { builtin_image_set("fashion-mnist", "validation"); }).find("unknown split"), std::string::npos);
  EXPECT_NE(error_of([] { builtin_image_set("mnist", "train"); }).find("unknown built-in image set 'mnist'"),
            std::string::npos);
}

TEST(ImageSet, IdxLabelsMustMatchTheImages) {
  testing::TempDir dir;
  std::ofstream(dir.file("images.idx"), std::ios::binary) << idx_bytes(0x08, {2, 2, 2}, std::string("\0\xff\0\xff\0\0\0\0", 8));
  std::ofstream(dir.file("labels.idx"), std::ios::binary) << idx_bytes(0x08, {2}, std::string("\x02\x00", 2));
  std::ofstream(dir.file("three.idx"), std::ios::binary) << idx_bytes(0x08, {3}, std::string("\0\0\0", 3));
  ImageSet set = read_idx_images(dir.file("images.idx"), dir.file("labels.idx"));
  EXPECT_TRUE(set.images.equal(torch::tensor({-1.f, 1.f, -1.f, 1.f, -1.f, -1.f, -1.f, -1.f}).view({2, 1, 2, 2})));
  EXPECT_TRUE(set.labels.equal(torch::tensor({2, 0}, at::kLong)));
  EXPECT_EQ(set.class_names, (std::vector<std::string>{"0", "1", "2"}));
  EXPECT_FALSE(read_idx_images(dir.file("images.idx"), "").labelled());
  EXPECT_NE(error_of([&] { read_idx_images(dir.file("images.idx"), dir.file("three.idx")); }).find("3 labels for 2 images"),
            std::string::npos);
  EXPECT_NE(error_of([&] { read_idx_images(dir.file("labels.idx"), ""); }).find("expected images [N, H, W]"),
            std::string::npos);
}

}  // namespace
}  // namespace flowmatch
