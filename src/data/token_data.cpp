#include "flowmatch/data/token_data.h"

#include <torch/torch.h>

#include <set>

#include "flowmatch/core/error.h"
#include "flowmatch/core/file_name.h"
#include "flowmatch/data/toy_distributions.h"
#include "flowmatch/io/atomic_file.h"
#include "flowmatch/io/npy.h"

namespace flowmatch {

namespace {
// The UTF-8 characters of `line` (each 1 to 4 bytes), or nullopt when it is not UTF-8.
std::optional<std::vector<std::string>> utf8_characters(const std::string& line) {
  std::vector<std::string> characters;
  for (size_t i = 0; i < line.size();) {
    const auto lead = uint8_t(line[i]);
    const size_t width = lead < 0x80 ? 1 : (lead >> 5) == 0x6 ? 2 : (lead >> 4) == 0xe ? 3 : (lead >> 3) == 0x1e ? 4 : 0;
    if (width == 0 || i + width > line.size()) return std::nullopt;
    for (size_t k = 1; k < width; ++k)
      if ((uint8_t(line[i + k]) >> 6) != 0x2) return std::nullopt;
    characters.push_back(line.substr(i, width));
    i += width;
  }
  return characters;
}

std::string line_number(size_t index) { return "line " + std::to_string(index + 1); }

// Refuses a vocabulary larger than a token model takes.
void check_vocabulary(int64_t vocabulary, const std::string& what) {
  if (vocabulary > kMaxVocabulary)
    throw Error(what + " has a vocabulary of " + std::to_string(vocabulary) + " tokens, over the limit of " +
                std::to_string(kMaxVocabulary));
}

// Checks a .npy of tokens: [N, L] int64 with N, L >= 1, every token in 0 .. vocabulary - 1.
void check_token_rows(const at::Tensor& tokens, int64_t vocabulary, const std::string& path) {
  if (tokens.scalar_type() != at::kLong || tokens.dim() != 2 || tokens.size(0) == 0 || tokens.size(1) == 0)
    throw Error(path + " must hold int64 tokens [N, L] with N, L >= 1, got shape " + c10::str(tokens.sizes()));
  at::Tensor outside = (tokens < 0) | (tokens >= vocabulary);
  if (outside.any().item<bool>()) {
    at::Tensor at = outside.flatten().nonzero()[0][0];
    const int64_t flat = at.item<int64_t>(), row = flat / tokens.size(1), column = flat % tokens.size(1);
    throw Error(path + ": token " + std::to_string(tokens[row][column].item<int64_t>()) + " at row " + std::to_string(row) +
                ", position " + std::to_string(column) + " is outside the vocabulary 0 .. " + std::to_string(vocabulary - 1));
  }
}
}  // namespace

CharacterVocabulary::CharacterVocabulary(std::vector<std::string> characters) : characters_(std::move(characters)) {
  check_vocabulary(size(), "the text");
}

CharacterVocabulary CharacterVocabulary::of_lines(const std::vector<std::string>& lines) {
  std::set<std::string> seen;  // UTF-8's byte order is code-point order
  for (const auto& line : lines) {
    std::optional<std::vector<std::string>> characters = utf8_characters(line);
    if (characters) seen.insert(characters->begin(), characters->end());
  }
  check_vocabulary(int64_t(seen.size()) + 1, "the text (its distinct characters and the end of a line)");
  return CharacterVocabulary({seen.begin(), seen.end()});
}

at::Tensor CharacterVocabulary::encode(const std::vector<std::string>& lines, int64_t length, bool truncate,
                                       const std::string& name) const {
  std::map<std::string, int64_t> id;
  for (size_t k = 0; k < characters_.size(); ++k) id[characters_[k]] = int64_t(k) + 1;
  at::Tensor tokens = torch::zeros({int64_t(lines.size()), length}, torch::kLong);
  auto rows = tokens.accessor<int64_t, 2>();
  for (size_t i = 0; i < lines.size(); ++i) {
    std::optional<std::vector<std::string>> characters = utf8_characters(lines[i]);
    if (!characters) throw Error(name + ", " + line_number(i) + ": not UTF-8 text");
    if (int64_t(characters->size()) > length && !truncate)
      throw Error(name + ", " + line_number(i) + " has " + std::to_string(characters->size()) +
                  " characters, more than the sequence length " + std::to_string(length) +
                  ": raise --max-length, or cut such lines with --truncate");
    for (int64_t k = 0; k < std::min<int64_t>(length, int64_t(characters->size())); ++k) {
      auto found = id.find((*characters)[k]);
      if (found == id.end())
        throw Error(name + ", " + line_number(i) + ": the character '" + (*characters)[k] + "' is not in the model's vocabulary");
      rows[i][k] = found->second;
    }
  }
  return tokens;
}

std::vector<std::string> CharacterVocabulary::decode(const at::Tensor& tokens) const {
  std::vector<std::string> lines;
  at::Tensor rows_tensor = tokens.to(torch::kLong).contiguous();
  auto rows = rows_tensor.accessor<int64_t, 2>();
  for (int64_t i = 0; i < rows_tensor.size(0); ++i) {
    std::string line;
    for (int64_t k = 0; k < rows_tensor.size(1) && rows[i][k] != 0; ++k) line += characters_.at(size_t(rows[i][k] - 1));
    lines.push_back(line);
  }
  return lines;
}

std::vector<std::string> read_text_lines(const std::string& path, bool empty_lines) {
  const std::string text = read_file(path);
  std::vector<std::string> lines;
  for (size_t start = 0; start < text.size();) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    std::string line = text.substr(start, end - start);
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty() && !empty_lines) throw Error(path + ", " + line_number(lines.size()) + " is empty: each line is one sequence");
    if (!utf8_characters(line)) throw Error(path + ", " + line_number(lines.size()) + ": not UTF-8 text");
    lines.push_back(line);
    start = end + 1;
  }
  if (lines.empty()) throw Error(path + " is empty: give one sequence per line");
  return lines;
}

void write_text_lines(const std::string& path, const std::vector<std::string>& lines) {
  std::string text;
  for (const auto& line : lines) text += line + "\n";
  write_file_atomically(path, text);
}

void check_checkerboard_bins(int64_t bins) {
  if (bins < 4 || bins > kMaxVocabulary || bins % 4 != 0)
    throw Error("--bins must be a multiple of 4 from 4 to " + std::to_string(kMaxVocabulary) + ", got " + std::to_string(bins));
}

// token = floor((x + 4) / 8 * bins), clamped to 0 .. bins - 1
at::Tensor discrete_checkerboard(int64_t n, int64_t bins, at::Generator& gen) {
  at::Tensor x = sample_toy("checkerboard", n, gen);
  return ((x + 4) * (double(bins) / 8)).floor().clamp(0, double(bins - 1)).to(torch::kLong);
}

at::Tensor discrete_checkerboard_probabilities(int64_t bins) {
  check_checkerboard_bins(bins);
  at::Tensor centres = (torch::arange(bins, torch::kDouble) + 0.5) * (8.0 / double(bins)) - 4;
  at::Tensor grid = torch::stack(torch::meshgrid({centres, centres}, "ij"), -1).reshape({-1, 2});
  return on_checkerboard(grid).to(torch::kDouble).reshape({bins, bins}) * (2.0 / double(bins * bins));
}

at::Tensor TokenData::batch(int64_t b, at::Generator& gen) const {
  if (checkerboard) return discrete_checkerboard(b, vocabulary, gen);
  return tokens.index_select(0, torch::randint(0, tokens.size(0), {b}, gen, torch::kLong));
}

bool is_token_source(const std::string& data) {
  return data == "discrete-checkerboard" || ends_with(data, ".txt") || (ends_with(data, ".npy") && npy_holds_int64(data));
}

TokenData read_token_data(const TokenSpec& spec) {
  TokenData data;
  if (spec.max_length < 0) throw Error("--max-length must be positive, got " + std::to_string(spec.max_length));
  if (spec.vocabulary < 0) throw Error("--vocabulary must be positive, got " + std::to_string(spec.vocabulary));
  if (spec.data == "discrete-checkerboard") {
    check_checkerboard_bins(spec.bins);
    data.vocabulary = spec.bins;
    data.length = 2;
    data.checkerboard = true;
    data.description = "discrete-checkerboard (" + std::to_string(spec.bins) + " bins)";
  } else if (ends_with(spec.data, ".txt")) {
    std::vector<std::string> lines = read_text_lines(spec.data);
    data.characters = CharacterVocabulary::of_lines(lines);
    int64_t longest = 0;
    for (const auto& line : lines) longest = std::max<int64_t>(longest, int64_t(utf8_characters(line)->size()));
    data.length = spec.max_length > 0 ? spec.max_length : longest + 1;
    data.tokens = data.characters->encode(lines, data.length, spec.truncate, spec.data);
    data.vocabulary = data.characters->size();
    data.description = spec.data + " (" + std::to_string(lines.size()) + " lines, " + std::to_string(data.vocabulary - 1) +
                       " characters, length " + std::to_string(data.length) + ")";
  } else {
    data.tokens = read_npy(spec.data);
    if (data.tokens.scalar_type() != at::kLong)
      throw Error(spec.data + " holds floating-point values; token data is a .npy of int64 tokens [N, L]");
    if (data.tokens.dim() == 2 && data.tokens.numel() > 0) {
      const int64_t largest = data.tokens.max().item<int64_t>() + 1;
      data.vocabulary = spec.vocabulary > 0 ? spec.vocabulary : largest;
      check_vocabulary(data.vocabulary, spec.data);
    }
    check_token_rows(data.tokens, std::max<int64_t>(data.vocabulary, 1), spec.data);
    data.length = data.tokens.size(1);
    data.description = spec.data + " (" + std::to_string(data.tokens.size(0)) + " sequences of " +
                       std::to_string(data.length) + " tokens, vocabulary " + std::to_string(data.vocabulary) + ")";
  }
  return data;
}

at::Tensor read_tokens_for_model(const std::string& path, int64_t vocabulary, int64_t length,
                                 const std::optional<CharacterVocabulary>& characters, bool truncate) {
  if (characters) {
    if (!ends_with(path, ".txt")) throw Error("this model reads text: give the lines as a .txt file, got " + path);
    return characters->encode(read_text_lines(path), length, truncate, path);
  }
  if (!ends_with(path, ".npy")) throw Error("this model reads tokens: give them as a .npy of int64 [N, " + std::to_string(length) + "], got " + path);
  at::Tensor tokens = read_npy(path);
  check_token_rows(tokens, vocabulary, path);
  if (tokens.size(1) != length)
    throw Error(path + " holds sequences of " + std::to_string(tokens.size(1)) + " tokens but the model's are " + std::to_string(length));
  return tokens;
}

}  // namespace flowmatch
