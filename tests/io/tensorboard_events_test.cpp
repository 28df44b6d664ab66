#include "flowmatch/io/tensorboard_events.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <vector>

#include "flowmatch/io/crc32c.h"
#include "test_util.h"

namespace flowmatch {
namespace {

// RFC 3720 (iSCSI), appendix B.4, and the customary check value of CRC-32C.
TEST(Crc32c, KnownAnswers) {
  EXPECT_EQ(crc32c("123456789"), 0xE3069283u);
  EXPECT_EQ(crc32c(std::string(32, '\0')), 0x8A9136AAu);
  EXPECT_EQ(crc32c(std::string(32, '\xFF')), 0x62A8AB43u);
  std::string ascending, descending;
  for (int i = 0; i < 32; ++i) {
    ascending.push_back(char(i));
    descending.push_back(char(31 - i));
  }
  EXPECT_EQ(crc32c(ascending), 0x46DD794Eu);
  EXPECT_EQ(crc32c(descending), 0x113FDB5Cu);
  EXPECT_EQ(crc32c(""), 0u);
}

uint64_t little_endian(const std::string& bytes, size_t at, size_t size) {
  uint64_t v = 0;
  for (size_t i = 0; i < size; ++i) v |= uint64_t(uint8_t(bytes[at + i])) << (8 * i);
  return v;
}

// The records of a TFRecord file, each checked against its length and both masked CRCs
// (unmasked here by inverting the mask: rotate left by 15 after subtracting the constant).
std::vector<std::string> read_records(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  auto unmask = [](uint32_t masked) {
    uint32_t rotated = masked - 0xA282EAD8u;
    return (rotated >> 17) | (rotated << 15);
  };
  std::vector<std::string> records;
  size_t at = 0;
  while (at < bytes.size()) {
    EXPECT_LE(at + 12, bytes.size());
    uint64_t length = little_endian(bytes, at, 8);
    EXPECT_EQ(unmask(uint32_t(little_endian(bytes, at + 8, 4))), crc32c(bytes.substr(at, 8)));
    std::string data = bytes.substr(at + 12, length);
    EXPECT_EQ(data.size(), length);
    EXPECT_EQ(unmask(uint32_t(little_endian(bytes, at + 12 + length, 4))), crc32c(data));
    records.push_back(data);
    at += 12 + length + 4;
  }
  EXPECT_EQ(at, bytes.size());
  return records;
}

// Debian's protoc decodes a message without its schema: "field: value" lines, nested in braces.
std::string decode_raw(const std::string& message, const testing::TempDir& dir) {
  std::string file = dir.file("message.bin");
  std::ofstream(file, std::ios::binary) << message;
  FILE* pipe = popen(("protoc --decode_raw < " + file + " 2>&1").c_str(), "r");
  std::string text;
  char buffer[4096];
  while (size_t got = fread(buffer, 1, sizeof buffer, pipe)) text.append(buffer, got);
  EXPECT_EQ(pclose(pipe), 0) << text;
  return text;
}

std::string hex32(float value) {
  uint32_t bits;
  std::memcpy(&bits, &value, sizeof bits);
  char text[16];
  std::snprintf(text, sizeof text, "0x%x", bits);
  return text;
}

TEST(TensorBoardEvents, RecordsDecodeToTheLoggedTagsStepsAndValues) {
  if (std::system("command -v protoc > /dev/null") != 0)
    GTEST_SKIP() << "protoc is not installed (scripts/install-deps.sh installs protobuf-compiler)";
  testing::TempDir dir;
  std::string path;
  // A 3 x 2 PNG: the 8-byte signature, then IHDR (length 13) with width 3 and height 2.
  std::string png = std::string("\x89PNG\r\n\x1a\n", 8) + std::string("\0\0\0\x0d", 4) + "IHDR" +
                    std::string("\0\0\0\x03\0\0\0\x02\x08\x02\0\0\0", 13) + "rest";
  {
    TensorBoardEvents events(dir.path());
    path = events.path();
    events.add_scalar("loss", 7, 0.25);
    events.add_scalar("eval/energy_distance", 1200, 0.0123);
    events.add_png("samples", 1200, png);
  }
  EXPECT_EQ(std::filesystem::path(path).filename().string().rfind("events.out.tfevents.", 0), 0u);
  std::vector<std::string> records = read_records(path);
  ASSERT_EQ(records.size(), 4u);
  EXPECT_NE(decode_raw(records[0], dir).find("3: \"brain.Event:2\""), std::string::npos);

  std::string loss = decode_raw(records[1], dir);
  EXPECT_NE(loss.find("\n2: 7\n"), std::string::npos) << loss;  // the step
  EXPECT_NE(loss.find("1: \"loss\""), std::string::npos) << loss;
  EXPECT_NE(loss.find("2: " + hex32(0.25f)), std::string::npos) << loss;  // simple_value, a fixed32

  std::string energy = decode_raw(records[2], dir);
  EXPECT_NE(energy.find("\n2: 1200\n"), std::string::npos) << energy;
  EXPECT_NE(energy.find("1: \"eval/energy_distance\""), std::string::npos) << energy;
  EXPECT_NE(energy.find("2: " + hex32(0.0123f)), std::string::npos) << energy;

  std::string picture = decode_raw(records[3], dir);
  EXPECT_NE(picture.find("1: \"samples\""), std::string::npos) << picture;
  for (std::string field : {"1: 2\n", "2: 3\n", "3: 3\n", "4: \"\\211PNG"})  // height, width, RGB, the bytes
    EXPECT_NE(picture.find(field), std::string::npos) << field << " in\n" << picture;

  TensorBoardEvents more(dir.path());
  EXPECT_NE(testing::error_of([&] { more.add_png("samples", 1, "not a png"); }).find("PNG"), std::string::npos);
}

}  // namespace
}  // namespace flowmatch
