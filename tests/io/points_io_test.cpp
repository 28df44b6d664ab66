#include <gtest/gtest.h>
#include <torch/torch.h>

#include <filesystem>
#include <fstream>

#include "flowmatch/core/error.h"
#include "flowmatch/data/point_data.h"
#include "flowmatch/io/atomic_file.h"
#include "flowmatch/io/npy.h"
#include "flowmatch/io/points_file.h"
#include "test_util.h"

namespace flowmatch {
namespace {

void write_text(const std::string& path, const std::string& text) { std::ofstream(path, std::ios::binary) << text; }

TEST(PointsIo, NpyRoundTripsFloat32AndReadsFloat64) {
  testing::TempDir dir;
  at::Tensor points = torch::randn({37, 5});
  write_points(dir.file("p.npy"), points);
  EXPECT_TRUE(read_points(dir.file("p.npy")).equal(points));
  at::Tensor doubles = torch::randn({4, 3}, torch::kDouble);
  write_npy(dir.file("d.npy"), doubles);
  EXPECT_TRUE(read_points(dir.file("d.npy")).equal(doubles.to(torch::kFloat)));
  write_npy(dir.file("v.npy"), torch::arange(6, torch::kFloat));
  EXPECT_EQ(read_points(dir.file("v.npy")).sizes(), (std::vector<int64_t>{6, 1}));
}

// Class labels travel as int64 .npy; images as 4-D float32.
TEST(PointsIo, NpyKeepsInt64LabelsAndAnyShape) {
  testing::TempDir dir;
  at::Tensor labels = torch::tensor({int64_t(0), int64_t(9), int64_t(3), int64_t(1) << 40}, torch::kLong);
  write_npy(dir.file("l.npy"), labels);
  at::Tensor read = read_npy(dir.file("l.npy"));
  EXPECT_EQ(read.scalar_type(), torch::kLong);
  EXPECT_TRUE(read.equal(labels));
  EXPECT_EQ(read_file(dir.file("l.npy")).find("'descr': '<i8'"), size_t(11));
  at::Tensor images = torch::rand({3, 1, 4, 5});
  write_npy(dir.file("i.npy"), images);
  EXPECT_TRUE(read_npy(dir.file("i.npy")).equal(images));
  EXPECT_THROW(write_npy(dir.file("b.npy"), torch::zeros({2}, torch::kByte)), Error);
  EXPECT_FALSE(std::filesystem::exists(dir.file("b.npy")));
}

TEST(PointsIo, CsvRoundTripsWithHeaderAndAnyDimension) {
  testing::TempDir dir;
  at::Tensor points = torch::randn({20, 3});
  write_points(dir.file("p.csv"), points);
  EXPECT_TRUE(torch::allclose(read_points(dir.file("p.csv")), points, 0, 1e-6));
  write_text(dir.file("h.csv"), "x\n1.5\n\n-2\n");
  EXPECT_TRUE(read_points(dir.file("h.csv")).equal(torch::tensor({{1.5f}, {-2.0f}})));
}

TEST(PointsIo, RejectsBadFilesWithTheirNames) {
  testing::TempDir dir;
  write_text(dir.file("ragged.csv"), "1,2\n3\n");
  EXPECT_NE(testing::error_of([&] { read_points(dir.file("ragged.csv")); }).find("ragged.csv:2"), std::string::npos);
  write_text(dir.file("nan.csv"), "1,2\n3,nan\n");
  EXPECT_NE(testing::error_of([&] { read_points(dir.file("nan.csv")); }).find("row 1 holds a NaN"), std::string::npos);
  write_text(dir.file("words.csv"), "1,2\nthree,4\n");
  EXPECT_NE(testing::error_of([&] { read_points(dir.file("words.csv")); }).find("not a row of numbers"), std::string::npos);
  write_text(dir.file("empty.csv"), "");
  EXPECT_NE(testing::error_of([&] { read_points(dir.file("empty.csv")); }).find("no rows"), std::string::npos);
  EXPECT_NE(testing::error_of([&] { read_points(dir.file("missing.npy")); }).find("missing.npy"), std::string::npos);
  EXPECT_NE(testing::error_of([&] { read_points(dir.file("p.txt")); }).find("unknown points format"), std::string::npos);

  write_npy(dir.file("good.npy"), torch::randn({8, 2}));
  std::string bytes = read_file(dir.file("good.npy"));
  write_text(dir.file("short.npy"), bytes.substr(0, bytes.size() - 3));
  EXPECT_NE(testing::error_of([&] { read_points(dir.file("short.npy")); }).find("needs 64 bytes"), std::string::npos);
  write_text(dir.file("magic.npy"), "not numpy at all");
  EXPECT_NE(testing::error_of([&] { read_points(dir.file("magic.npy")); }).find("magic"), std::string::npos);
  std::string lying = bytes;
  lying.replace(lying.find("(8, 2)"), 6, "(9, 2)");
  write_text(dir.file("lying.npy"), lying);
  EXPECT_NE(testing::error_of([&] { read_points(dir.file("lying.npy")); }).find("needs 72 bytes"), std::string::npos);
  // Format version 2 (4-byte header length) with a 2 MB header: a regex over it once overflowed the stack.
  auto version_2 = [](const std::string& header, const std::string& data) {
    std::string length(4, '\0');
    for (int i = 0; i < 4; ++i) length[i] = char(header.size() >> (8 * i) & 0xff);
    return std::string("\x93NUMPY\x02\x00", 8) + length + header + data;
  };
  std::string long_header = "{'descr': '<f4', 'fortran_order': False," + std::string(2000000, ' ') + "'shape': (1, 2), }\n";
  write_text(dir.file("long.npy"), version_2(long_header, std::string(8, '\0')));
  EXPECT_TRUE(read_points(dir.file("long.npy")).equal(torch::zeros({1, 2})));
  std::string long_dtype = long_header;
  long_dtype.replace(long_dtype.find("<f4"), 3, std::string(3000, 'f'));
  EXPECT_EQ(testing::error_of([&] { parse_npy(version_2(long_dtype, std::string(8, '\0')), "x"); }),
            "x: not a valid .npy file: a string in the header is too long for a dtype");
  std::string empty_but_huge = long_header;
  empty_but_huge.replace(empty_but_huge.find("(1, 2)"), 6, "(0, 999999999999, 999999999999)");
  EXPECT_EQ(testing::error_of([&] { parse_npy(version_2(empty_but_huge, ""), "x"); }),
            "x: not a valid .npy file: shape too large");
  at::Tensor with_inf = torch::zeros({3, 2});
  with_inf[2][0] = INFINITY;
  write_npy(dir.file("inf.npy"), with_inf);
  EXPECT_NE(testing::error_of([&] { read_points(dir.file("inf.npy")); }).find("row 2"), std::string::npos);
}

TEST(PointsIo, AtomicWriteLeavesNothingOnFailure) {
  testing::TempDir dir;
  EXPECT_THROW(write_points(dir.file("no/such/folder/p.npy"), torch::zeros({2, 2})), Error);
  EXPECT_THROW(check_writable_destination(dir.file("no/such/folder/p.npy"), true), Error);
  EXPECT_TRUE(std::filesystem::is_empty(dir.path()));
}

TEST(PointsIo, AnOutputThatExistsIsReplacedOnlyWhenAsked) {
  testing::TempDir dir;
  const std::string path = dir.file("p.npy");
  check_writable_destination(path, false);  // nothing there yet
  write_points(path, torch::zeros({2, 2}));
  EXPECT_EQ(testing::error_of([&] { check_writable_destination(path, false); }), path + " exists; pass --overwrite to replace it");
  check_writable_destination(path, true);
  EXPECT_NE(testing::error_of([&] { check_writable_destination(dir.path(), true); }).find("it is a folder"), std::string::npos);
}

// A points file written in pieces holds the bytes of the whole written at once, and appears only
// once every row is in: a writer given too few rows, or dropped half-way, leaves nothing.
TEST(PointsIo, WrittenInPiecesEqualsWrittenWhole) {
  const std::string dir = ::testing::TempDir() + "points_writer/";
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  at::Tensor points = torch::randn({7, 3});
  for (const std::string ext : {".npy", ".csv"}) {
    write_points(dir + "whole" + ext, points);
    PointsWriter pieces(dir + "pieces" + ext, 7, 3);
    pieces.append(points.slice(0, 0, 4));
    EXPECT_FALSE(std::filesystem::exists(dir + "pieces" + ext));
    pieces.append(points.slice(0, 4, 7));
    pieces.commit();
    EXPECT_EQ(read_file(dir + "pieces" + ext), read_file(dir + "whole" + ext)) << ext;

    PointsWriter short_of_rows(dir + "short" + ext, 7, 3);
    short_of_rows.append(points.slice(0, 0, 4));
    EXPECT_THROW(short_of_rows.append(torch::zeros({4, 3})), Error);  // 8 rows of 7
    EXPECT_THROW(short_of_rows.append(torch::zeros({1, 2})), Error);  // the wrong width
    EXPECT_THROW(short_of_rows.commit(), Error);
    { PointsWriter dropped(dir + "dropped" + ext, 7, 3); dropped.append(points); }
    EXPECT_FALSE(std::filesystem::exists(dir + "short" + ext));
    EXPECT_FALSE(std::filesystem::exists(dir + "dropped" + ext));
  }
  NpyWriter log_density(dir + "lp.npy", at::kDouble, {5});
  log_density.append(torch::arange(5, torch::kDouble));
  log_density.commit();
  EXPECT_TRUE(torch::equal(read_npy(dir + "lp.npy"), torch::arange(5, torch::kFloat)));
  for (const auto& entry : std::filesystem::directory_iterator(dir))
    EXPECT_EQ(entry.path().filename().string().find(".tmp"), std::string::npos) << entry.path();
}

TEST(PointData, FixedSetDrawsOnlyItsOwnRows) {
  at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(1);
  PointData data("moons", 10, gen);
  EXPECT_TRUE(data.is_finite());
  at::Tensor set = data.reference(100, gen);
  ASSERT_EQ(set.size(0), 10);
  at::Tensor batch = data.batch(500, gen);
  // Every batch row is one of the 10 fixed points.
  at::Tensor distance = std::get<0>(torch::cdist(batch, set).min(1));
  EXPECT_EQ(distance.max().item<float>(), 0.0f);
  EXPECT_THROW(PointData("no-such-distribution", 0, gen), Error);
  EXPECT_THROW(PointData("moons", -1, gen), Error);
}

}  // namespace
}  // namespace flowmatch
