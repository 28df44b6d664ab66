#pragma once
#include <ATen/core/Generator.h>
#include <ATen/core/Tensor.h>

#include <optional>
#include <string>
#include <vector>

namespace flowmatch {

// The largest vocabulary a token model takes: its embedding and output layers grow with it.
constexpr int64_t kMaxVocabulary = 65536;

// Characters as tokens: id 0 ends a line (and pads it to the sequence length), ids 1 .. V - 1 are
// the characters of the lines it was built from (UTF-8 code points, in code-point order).
class CharacterVocabulary {
 public:
  // Every character of `lines`; throws Error when there are more than kMaxVocabulary - 1.
  static CharacterVocabulary of_lines(const std::vector<std::string>& lines);
  explicit CharacterVocabulary(std::vector<std::string> characters);

  int64_t size() const { return int64_t(characters_.size()) + 1; }  // with the end
  const std::vector<std::string>& characters() const { return characters_; }
  // Lines as [N, L] tokens, each ended and padded with 0. A line longer than L is cut to L with
  // `truncate`, and otherwise refused; a character outside the vocabulary is refused. `name` (a
  // file) is named in errors with the line number.
  at::Tensor encode(const std::vector<std::string>& lines, int64_t length, bool truncate, const std::string& name) const;
  // Token rows [N, L] back to lines: each up to its first 0.
  std::vector<std::string> decode(const at::Tensor& tokens) const;

 private:
  std::vector<std::string> characters_;  // id k + 1 is characters_[k]
};

// The lines of a UTF-8 text file, without their line ends ("\n" or "\r\n"). Throws Error for a
// missing or empty file, an empty line (unless `empty_lines`: samples may be empty), or bytes that
// are not UTF-8 (naming the line).
std::vector<std::string> read_text_lines(const std::string& path, bool empty_lines = false);
// Writes lines, each ended by "\n", atomically.
void write_text_lines(const std::string& path, const std::vector<std::string>& lines);

// The checkerboard of toy_distributions.h with each coordinate of [-4, 4] cut into `bins` bins: a
// point is the sequence of its 2 bin indices.
at::Tensor discrete_checkerboard(int64_t n, int64_t bins, at::Generator& gen);
// Its exact distribution [bins, bins] (row: the first token): 2 / bins^2 on the bins of the 8
// on-cells, 0 elsewhere.
at::Tensor discrete_checkerboard_probabilities(int64_t bins);
// Throws Error unless bins is a multiple of 4 in [4, kMaxVocabulary] (the cells' edges fall on bin edges).
void check_checkerboard_bins(int64_t bins);

// Where token sequences come from: a text file of lines (*.txt), a .npy of int64 tokens [N, L], or
// the built-in discrete-checkerboard.
struct TokenSpec {
  std::string data;
  int64_t max_length = 0;  // text: the sequence length L (0: the longest line's characters + 1)
  bool truncate = false;   // text: cut longer lines to L instead of refusing them
  int64_t vocabulary = 0;  // .npy: the vocabulary V (0: the largest token + 1)
  int64_t bins = 128;      // discrete-checkerboard: the vocabulary
};

// Token sequences to train on or score.
struct TokenData {
  at::Tensor tokens;  // [N, L] int64 in 0 .. vocabulary - 1; undefined for the built-in (fresh draws)
  int64_t vocabulary = 0, length = 0;
  std::optional<CharacterVocabulary> characters;  // text lines
  std::string description;
  bool checkerboard = false;

  // b rows: fresh draws from the built-in, or rows drawn uniformly with replacement.
  at::Tensor batch(int64_t b, at::Generator& gen) const;
};

// Whether `data` names token data: discrete-checkerboard, a *.txt file, or a .npy of int64 values.
bool is_token_source(const std::string& data);
// Reads and checks token data (a vocabulary over kMaxVocabulary, a token outside it, an empty file,
// a long line without truncate: Error).
TokenData read_token_data(const TokenSpec& spec);
// Token data as a trained model reads it: text lines in its vocabulary and length, a .npy of its
// length checked against its vocabulary. `characters` is the model's (none for a .npy model).
at::Tensor read_tokens_for_model(const std::string& path, int64_t vocabulary, int64_t length,
                                 const std::optional<CharacterVocabulary>& characters, bool truncate);

}  // namespace flowmatch
