#pragma once
#include <ATen/core/Generator.h>
#include <ATen/core/Tensor.h>

#include <nlohmann/json.hpp>
#include <string>

namespace flowmatch {

// Compares samples [N, D] with a target (a built-in name or a points file): energy distance and
// sliced Wasserstein-2 against `reference_n` target points (0 = as many as there are samples),
// and for the checkerboard also the on-cell fraction and how evenly the 8 cells are filled.
nlohmann::json evaluate_samples(const at::Tensor& samples, const std::string& target, int64_t reference_n,
                                at::Generator& gen);

}  // namespace flowmatch
