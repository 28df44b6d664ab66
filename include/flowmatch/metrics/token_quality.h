#pragma once
#include <ATen/core/Generator.h>
#include <ATen/core/Tensor.h>

#include <string>
#include <vector>

namespace flowmatch {

// The histogram of 2-token sequences [N, 2] over bins x bins (row: the first token), as
// probabilities; throws Error for other shapes or tokens outside 0 .. bins - 1.
at::Tensor pair_histogram(const at::Tensor& tokens, int64_t bins);

// Total variation distance between two distributions of the same shape: 1/2 sum |p - q|.
double total_variation(const at::Tensor& p, const at::Tensor& q);

// How discrete-checkerboard samples [N, 2] match the exact distribution (data/token_data.h):
//   tv:        total variation between their histogram and the exact probabilities;
//   exact_tv:  the same for N exact samples (drawn from `gen`): the floor a finite sample has;
//   on_cell_fraction: the share of samples in a bin of an on-cell.
struct CheckerboardTokenScore {
  double tv = 0, exact_tv = 0, on_cell_fraction = 0;
};
CheckerboardTokenScore score_checkerboard_tokens(const at::Tensor& tokens, int64_t bins, at::Generator& gen);

// Of generated sequences (text lines): the share that are distinct, and the share found in a
// reference set (the training lines, or held-out ones), counting repeats.
double distinct_share(const std::vector<std::string>& samples);
double share_found_in(const std::vector<std::string>& samples, const std::vector<std::string>& reference);

}  // namespace flowmatch
