#include <gtest/gtest.h>
#include <torch/torch.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "flowmatch/core/error.h"
#include "flowmatch/io/safetensors.h"
#include "test_util.h"

namespace flowmatch {
namespace {

// A safetensors byte string with the given header and `data_bytes` bytes of data.
std::string with_header(const std::string& header, size_t data_bytes) {
  std::string bytes(8, '\0');
  for (int i = 0; i < 8; ++i) bytes[i] = char((uint64_t(header.size()) >> (8 * i)) & 0xff);
  return bytes + header + std::string(data_bytes, '\x01');
}

void expect_rejected(const std::string& bytes, const std::string& why) {
  try {
    parse_safetensors(bytes, "bad.safetensors");
    FAIL() << "accepted a file with " << why;
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(why), std::string::npos) << e.what();
  }
}

TEST(Safetensors, RoundTripKeepsTensorsOrderAndMetadata) {
  testing::TempDir dir;
  Safetensors file;
  file.tensors = {{"w", torch::randn({3, 4})},
                  {"b", torch::arange(5, torch::kDouble)},
                  {"ids", torch::tensor({1, 2, 3}, torch::kLong)},
                  {"half", torch::randn({2}).to(torch::kBFloat16)},
                  {"empty", torch::zeros({0, 3})}};
  file.metadata = {{"flowmatch.model", "{\"name\":\"mlp\"}"}, {"note", "hello"}};
  write_safetensors(dir.file("a.safetensors"), file);
  Safetensors back = read_safetensors(dir.file("a.safetensors"));
  ASSERT_EQ(back.tensors.size(), file.tensors.size());
  for (size_t i = 0; i < file.tensors.size(); ++i) {
    EXPECT_EQ(back.tensors[i].first, file.tensors[i].first);
    EXPECT_EQ(back.tensors[i].second.scalar_type(), file.tensors[i].second.scalar_type());
    EXPECT_TRUE(back.tensors[i].second.equal(file.tensors[i].second)) << file.tensors[i].first;
  }
  EXPECT_EQ(back.metadata, file.metadata);
}

TEST(Safetensors, RejectsCorruptFiles) {
  auto entry = [](const std::string& dtype, const std::string& shape, int begin, int end) {
    return "{\"dtype\":\"" + dtype + "\",\"shape\":" + shape + ",\"data_offsets\":[" + std::to_string(begin) + "," +
           std::to_string(end) + "]}";
  };
  expect_rejected("abc", "shorter than");
  std::string huge(8, '\xff');
  expect_rejected(huge + "{}", "exceeds 100 MiB");
  expect_rejected(with_header("{}", 0).substr(0, 9), "runs past the end");
  expect_rejected(with_header("[1, 2]", 0), "not a JSON object");
  expect_rejected(with_header("{\"a\": ", 0), "not a JSON object");
  expect_rejected(with_header("{\"a\":" + entry("F32", "[2]", 0, 8) + "}", 7), "outside the data");
  expect_rejected(with_header("{\"a\":" + entry("F32", "[3]", 0, 8) + "}", 8), "shape needs 12");
  expect_rejected(with_header("{\"a\":" + entry("Q7", "[2]", 0, 8) + "}", 8), "unknown dtype");
  expect_rejected(with_header("{\"a\":" + entry("F32", "[-2]", 0, 8) + "}", 8), "not a non-negative integer");
  expect_rejected(with_header("{\"a\":" + entry("F32", "[2]", 0, 8) + ",\"b\":" + entry("F32", "[2]", 4, 12) + "}", 12),
                  "overlaps");
  expect_rejected(with_header("{\"a\":" + entry("F32", "[2]", 4, 12) + "}", 12), "hole");
  expect_rejected(with_header("{\"a\":" + entry("F32", "[2]", 0, 8) + "}", 10), "trailing bytes");
  expect_rejected(with_header("{\"a\":" + entry("F32", "[2]", 0, 8) + ",\"a\":" + entry("F32", "[2]", 8, 16) + "}", 16),
                  "duplicate");
  expect_rejected(with_header("{\"__metadata__\":{\"k\":3}}", 0), "not a string");
  expect_rejected(with_header("{\"a\":" + entry("F32", "[4294967296,4294967296]", 0, 8) + "}", 8), "larger than the file");
  // An empty tensor is still bounded: a zero beside a size past int64_t.
  expect_rejected(with_header("{\"a\":" + entry("F32", "[0,18446744073709551615]", 0, 0) + "}", 0), "larger than the file");
  expect_rejected(with_header("{\"a\":{\"dtype\":\"F32\"}}", 0), "lacks");
  // Nesting a million deep must not exhaust the stack (nlohmann's parser keeps its own).
  expect_rejected(with_header(std::string(1000000, '[') + std::string(1000000, ']'), 0), "not a JSON object");
}

TEST(Safetensors, TruncatedFileIsRejected) {
  testing::TempDir dir;
  write_safetensors(dir.file("a.safetensors"), {{{"w", torch::randn({16})}}, {}});
  std::ifstream in(dir.file("a.safetensors"), std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  expect_rejected(bytes.substr(0, bytes.size() - 1), "outside the data");
}

TEST(Safetensors, MissingFileNamesThePath) {
  try {
    read_safetensors("/nonexistent/model.safetensors");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("/nonexistent/model.safetensors"), std::string::npos);
  }
}

}  // namespace
}  // namespace flowmatch
