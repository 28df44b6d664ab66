#pragma once
#include <torch/nn/module.h>

#include <string>

#include "flowmatch/io/safetensors.h"

namespace flowmatch {

// A module's parameters and buffers under their PyTorch state_dict names, for write_safetensors.
Safetensors module_weights(const torch::nn::Module& module);

// The number of values in the module's parameters.
int64_t parameter_count(const torch::nn::Module& module);

// Copies a file's tensors into the module's parameters and buffers of the same names; throws Error
// naming `path` on a missing tensor, a shape that does not match, NaN or infinite values, or a
// tensor the module does not have.
void load_module_weights(torch::nn::Module& module, const Safetensors& file, const std::string& path);

}  // namespace flowmatch
