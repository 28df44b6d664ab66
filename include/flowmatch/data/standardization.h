#pragma once
#include <ATen/core/Tensor.h>

#include <string>

namespace flowmatch {

// A per-column z-score, z = (x - mean) / std, fitted on a training set and stored with the model
// (as JSON in its weights file's metadata), so that sampling and likelihoods work in the data's
// own units. Columns that do not vary keep std 1.
struct Standardization {
  at::Tensor mean, std;  // [D] float64

  // Throws Error unless x is [N, D] with N >= 1.
  static Standardization fit(const at::Tensor& x);
  at::Tensor apply(const at::Tensor& x) const;  // (x - mean) / std, in x's dtype
  at::Tensor undo(const at::Tensor& z) const;   // mean + std z
  at::Tensor norms(const at::Tensor& x) const;  // ||(x_i - mean) / std|| per row: [N], float64
  // log |dz/dx| = -sum_d log std_d: a density in z becomes one in x as log p_x(x) = log p_z(z) + this.
  double log_jacobian() const;
  int64_t dim() const { return mean.size(0); }

  std::string to_json() const;  // {"mean": [...], "std": [...]}
  // Throws Error, naming `what`, for malformed JSON, unequal lengths or a std that is not positive.
  static Standardization from_json(const std::string& json, const std::string& what);
};

}  // namespace flowmatch
