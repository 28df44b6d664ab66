#pragma once
#include <ATen/core/Tensor.h>

#include <string>

namespace flowmatch {

// Points with a context each: row i of x [N, D] is drawn given row i of context [N, C] (a simulator's
// parameters given its output, an action given an observation, a value given features).
struct ConditionalData {
  at::Tensor x, context;  // float32
};

// From a points file `data` (.npy/.csv) and either a second file `context_file` with as many rows,
// or `context_columns` "A:B": columns A .. B - 1 of `data` (counted from 0) are the context and the
// others x. Throws Error for unequal row counts, columns out of range, or non-finite values (naming
// the file and row).
ConditionalData load_conditional_data(const std::string& data, const std::string& context_file,
                                      const std::string& context_columns);

// Contexts to sample for: a points file (.npy/.csv, one context per row), or `values` "0.3,1.2"
// (one context). Exactly one of the two must be given.
at::Tensor read_contexts(const std::string& file, const std::string& values);

}  // namespace flowmatch
