#include "flowmatch/metrics/token_quality.h"

#include <torch/torch.h>

#include <unordered_set>

#include "flowmatch/core/error.h"
#include "flowmatch/data/token_data.h"

namespace flowmatch {

at::Tensor pair_histogram(const at::Tensor& tokens, int64_t bins) {
  if (tokens.dim() != 2 || tokens.size(1) != 2 || tokens.size(0) == 0 || tokens.scalar_type() != at::kLong)
    throw Error("a 2-D histogram takes int64 token pairs [N, 2], got " + c10::str(tokens.sizes()));
  if ((tokens < 0).any().item<bool>() || (tokens >= bins).any().item<bool>())
    throw Error("the token pairs must lie in 0 .. " + std::to_string(bins - 1) + " (--bins " + std::to_string(bins) + ")");
  at::Tensor flat = tokens.select(1, 0) * bins + tokens.select(1, 1);
  return torch::bincount(flat, {}, bins * bins).to(torch::kDouble).reshape({bins, bins}) / double(tokens.size(0));
}

// 1/2 sum |p - q|
double total_variation(const at::Tensor& p, const at::Tensor& q) { return 0.5 * (p - q).abs().sum().item<double>(); }

CheckerboardTokenScore score_checkerboard_tokens(const at::Tensor& tokens, int64_t bins, at::Generator& gen) {
  at::Tensor exact = discrete_checkerboard_probabilities(bins);
  at::Tensor histogram = pair_histogram(tokens, bins);
  CheckerboardTokenScore score;
  score.tv = total_variation(histogram, exact);
  score.exact_tv = total_variation(pair_histogram(discrete_checkerboard(tokens.size(0), bins, gen), bins), exact);
  score.on_cell_fraction = (histogram * (exact > 0)).sum().item<double>();
  return score;
}

double distinct_share(const std::vector<std::string>& samples) {
  if (samples.empty()) throw Error("no samples to score");
  return double(std::unordered_set<std::string>(samples.begin(), samples.end()).size()) / double(samples.size());
}

double share_found_in(const std::vector<std::string>& samples, const std::vector<std::string>& reference) {
  if (samples.empty()) throw Error("no samples to score");
  std::unordered_set<std::string> known(reference.begin(), reference.end());
  int64_t found = 0;
  for (const auto& sample : samples) found += known.count(sample) ? 1 : 0;
  return double(found) / double(samples.size());
}

}  // namespace flowmatch
