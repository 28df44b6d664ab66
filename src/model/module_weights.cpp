#include "flowmatch/model/module_weights.h"

#include <torch/torch.h>

#include "flowmatch/core/error.h"

namespace flowmatch {

Safetensors module_weights(const torch::nn::Module& module) {
  Safetensors file;
  for (const auto& item : module.named_parameters()) file.tensors.emplace_back(item.key(), item.value());
  for (const auto& item : module.named_buffers()) file.tensors.emplace_back(item.key(), item.value());
  return file;
}

int64_t parameter_count(const torch::nn::Module& module) {
  int64_t count = 0;
  for (const auto& p : module.parameters()) count += p.numel();
  return count;
}

void load_module_weights(torch::nn::Module& module, const Safetensors& file, const std::string& path) {
  torch::NoGradGuard no_grad;
  size_t loaded = 0;
  auto copy_into = [&](const std::string& name, at::Tensor& target) {
    at::Tensor source;
    try {
      source = file.at(name);
    } catch (const Error& e) {
      throw Error(path + ": " + e.what());
    }
    if (source.sizes() != target.sizes())
      throw Error(path + ": tensor '" + name + "' has shape " + c10::str(source.sizes()) + " but the model needs " +
                  c10::str(target.sizes()));
    if (source.is_floating_point() && !torch::isfinite(source).all().item<bool>())
      throw Error(path + ": tensor '" + name + "' holds NaN or infinite values");
    target.copy_(source);
    ++loaded;
  };
  for (auto& item : module.named_parameters()) copy_into(item.key(), item.value());
  for (auto& item : module.named_buffers()) copy_into(item.key(), item.value());
  if (loaded != file.tensors.size()) throw Error(path + ": the file holds tensors the model does not have");
}

}  // namespace flowmatch
