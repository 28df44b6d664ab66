#include "flowmatch/data/token_data.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "flowmatch/io/atomic_file.h"
#include "flowmatch/io/npy.h"
#include "test_util.h"

namespace flowmatch {
namespace {

TEST(TokenData, TextLinesBecomeCharacterTokensEndedAndPadded) {
  testing::TempDir dir;
  write_file_atomically(dir.file("words.txt"), "cab\r\nbé\nabba\n");
  TokenData data = read_token_data({dir.file("words.txt")});
  ASSERT_TRUE(data.characters.has_value());
  EXPECT_EQ(data.characters->characters(), (std::vector<std::string>{"a", "b", "c", "é"}));  // code-point order
  EXPECT_EQ(data.vocabulary, 5);  // and the end
  EXPECT_EQ(data.length, 5);      // the longest line and its end
  EXPECT_TRUE(torch::equal(data.tokens, torch::tensor({{3, 1, 2, 0, 0}, {2, 4, 0, 0, 0}, {1, 2, 2, 1, 0}}, torch::kLong)));
  EXPECT_EQ(data.characters->decode(data.tokens), (std::vector<std::string>{"cab", "bé", "abba"}));

  EXPECT_EQ(testing::error_of([&] { read_token_data({dir.file("words.txt"), 3}); }),
            dir.file("words.txt") + ", line 3 has 4 characters, more than the sequence length 3: raise --max-length, or cut such lines with --truncate");
  TokenData cut = read_token_data({dir.file("words.txt"), 3, true});
  EXPECT_EQ(cut.characters->decode(cut.tokens), (std::vector<std::string>{"cab", "bé", "abb"}));
  EXPECT_EQ(testing::error_of([&] { data.characters->encode({"abd"}, 5, false, "held.txt"); }),
            "held.txt, line 1: the character 'd' is not in the model's vocabulary");
}

TEST(TokenData, RefusesEmptyFilesBadTextAndTokensOutsideTheVocabulary) {
  testing::TempDir dir;
  write_file_atomically(dir.file("empty.txt"), "");
  EXPECT_EQ(testing::error_of([&] { read_token_data({dir.file("empty.txt")}); }), dir.file("empty.txt") + " is empty: give one sequence per line");
  write_file_atomically(dir.file("gap.txt"), "ab\n\ncd\n");
  EXPECT_EQ(testing::error_of([&] { read_token_data({dir.file("gap.txt")}); }),
            dir.file("gap.txt") + ", line 2 is empty: each line is one sequence");
  write_file_atomically(dir.file("latin1.txt"), "ok\ncaf\xe9\n");
  EXPECT_EQ(testing::error_of([&] { read_token_data({dir.file("latin1.txt")}); }), dir.file("latin1.txt") + ", line 2: not UTF-8 text");

  write_npy(dir.file("tokens.npy"), torch::tensor({{0, 1}, {2, 7}}, torch::kLong));
  TokenData tokens = read_token_data({dir.file("tokens.npy")});
  EXPECT_EQ(tokens.vocabulary, 8);
  EXPECT_EQ(tokens.length, 2);
  EXPECT_EQ(testing::error_of([&] { read_token_data({dir.file("tokens.npy"), 0, false, 5}); }),
            dir.file("tokens.npy") + ": token 7 at row 1, position 1 is outside the vocabulary 0 .. 4");
  EXPECT_EQ(testing::error_of([&] { read_token_data({dir.file("tokens.npy"), 0, false, 70000}); }),
            dir.file("tokens.npy") + " has a vocabulary of 70000 tokens, over the limit of 65536");
  write_npy(dir.file("negative.npy"), torch::tensor({{0, -1}}, torch::kLong));
  EXPECT_EQ(testing::error_of([&] { read_token_data({dir.file("negative.npy")}); }),
            dir.file("negative.npy") + ": token -1 at row 0, position 1 is outside the vocabulary 0 .. 0");
  std::string many;  // 65536 distinct characters and the end: one over
  for (int code = 0x4e00; code < 0x4e00 + 65536; ++code)
    many += std::string{char(0xf0 | (code >> 18)), char(0x80 | ((code >> 12) & 0x3f)), char(0x80 | ((code >> 6) & 0x3f)),
                        char(0x80 | (code & 0x3f))} + ((code & 63) == 63 ? "\n" : "");
  write_file_atomically(dir.file("many.txt"), many);
  EXPECT_EQ(testing::error_of([&] { read_token_data({dir.file("many.txt")}); }),
            "the text (its distinct characters and the end of a line) has a vocabulary of 65537 tokens, over the limit of 65536");

  EXPECT_TRUE(is_token_source("discrete-checkerboard"));
  EXPECT_TRUE(is_token_source(dir.file("tokens.npy")));
  write_npy(dir.file("points.npy"), torch::zeros({2, 2}));
  EXPECT_FALSE(is_token_source(dir.file("points.npy")));
  EXPECT_FALSE(is_token_source("checkerboard"));
}

TEST(TokenData, TheDiscreteCheckerboardBinsTheSeedsBoardOntoWholeCells) {
  at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(6);
  at::Tensor p = discrete_checkerboard_probabilities(128);
  EXPECT_NEAR(p.sum().item<double>(), 1.0, 1e-12);
  EXPECT_EQ((p > 0).sum().item<int64_t>(), 8 * 32 * 32);  // 8 on-cells of 32 x 32 bins
  at::Tensor tokens = discrete_checkerboard(20000, 128, gen);
  ASSERT_EQ(tokens.sizes(), (c10::IntArrayRef{20000, 2}));
  EXPECT_TRUE((p.index({tokens.select(1, 0), tokens.select(1, 1)}) > 0).all().item<bool>());
  // each on-cell gets 1/8 of the draws
  at::Tensor cells = tokens.select(1, 0).div(32, "floor") * 4 + tokens.select(1, 1).div(32, "floor");
  at::Tensor counts = torch::bincount(cells, {}, 16).to(torch::kDouble) / 20000.0;
  EXPECT_NEAR(counts.max().item<double>(), 0.125, 0.01);
  EXPECT_EQ((counts > 0).sum().item<int64_t>(), 8);
  EXPECT_EQ(testing::error_of([] { check_checkerboard_bins(30); }), "--bins must be a multiple of 4 from 4 to 65536, got 30");
}

}  // namespace
}  // namespace flowmatch
