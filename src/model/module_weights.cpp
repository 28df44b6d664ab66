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
  std::vector<std::pair<std::string, at::Tensor>> targets;
  for (auto& item : module.named_parameters()) targets.emplace_back(item.key(), item.value());
  for (auto& item : module.named_buffers()) targets.emplace_back(item.key(), item.value());
  // Every misfit at once (a wrong width shows in many tensors), before anything is copied.
  std::vector<std::string> misfits;
  for (const auto& [name, target] : targets) {
    if (!file.has(name)) misfits.push_back("'" + name + "' is missing");
    else if (file.at(name).sizes() != target.sizes())
      misfits.push_back("'" + name + "' is " + c10::str(file.at(name).sizes()) + " where the model has " +
                        c10::str(target.sizes()));
  }
  if (!misfits.empty()) {
    std::string listed;
    for (size_t i = 0; i < misfits.size() && i < 8; ++i) listed += (i ? "; " : "") + misfits[i];
    if (misfits.size() > 8) listed += "; and " + std::to_string(misfits.size() - 8) + " more";
    throw Error(path + ": " + std::to_string(misfits.size()) + " of the model's " + std::to_string(targets.size()) +
                " tensors do not fit: " + listed);
  }
  for (auto& [name, target] : targets) {
    const at::Tensor& source = file.at(name);
    if (source.is_floating_point() && !torch::isfinite(source).all().item<bool>())
      throw Error(path + ": tensor '" + name + "' holds NaN or infinite values");
    target.copy_(source);
  }
  if (targets.size() != file.tensors.size()) throw Error(path + ": the file holds tensors the model does not have");
}

}  // namespace flowmatch
