#include "flowmatch/train/training_state.h"

#include <torch/torch.h>

#include <cstdio>
#include <sstream>

#include "flowmatch/core/error.h"
#include "flowmatch/io/safetensors.h"

namespace flowmatch {

namespace {
// A double as text that reads back to the same bits.
std::string exact(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%a", v);
  return buf;
}

// Seed stream k's name in the file: "generator" for the first (as files with one stream have it).
std::string generator_name(size_t k) { return k == 0 ? "generator" : "generator." + std::to_string(k); }

// The progress in a training state's metadata; the best-weights fields only when asked for.
TrainingProgress progress_of(const Safetensors& file, const std::string& path, bool with_best) {
  auto entry = [&](const std::string& key) {
    auto it = file.metadata.find(key);
    if (it == file.metadata.end()) throw Error(path + ": not a training state (no " + key + " in __metadata__)");
    return it->second;
  };
  entry("flowmatch.training_state");
  TrainingProgress progress;
  try {
    progress.step = std::stoll(entry("step"));
    progress.loss_sum = std::strtod(entry("loss_sum").c_str(), nullptr);
    progress.loss_count = std::stoll(entry("loss_count"));
    if (file.metadata.count("seconds")) progress.seconds = std::strtod(entry("seconds").c_str(), nullptr);  // older states lack it
    if (with_best && file.metadata.count("best_step")) {
      progress.best_step = std::stoll(entry("best_step"));
      progress.validation_loss = std::strtod(entry("validation_loss").c_str(), nullptr);
      progress.lines_since_best = std::stoll(entry("lines_since_best"));
    }
  } catch (const std::logic_error&) {
    throw Error(path + ": malformed progress in __metadata__");
  }
  return progress;
}
}  // namespace

void save_training_state(const std::string& path, torch::nn::Module& model, torch::optim::Optimizer& optimizer,
                         Ema* ema, const std::vector<at::Tensor>& generator_states, const TrainingProgress& progress,
                         torch::nn::Module* best) {
  Safetensors file;
  auto add_weights = [&](const std::string& prefix, torch::nn::Module& weights) {
    for (const auto& item : weights.named_parameters()) file.tensors.emplace_back(prefix + item.key(), item.value().detach());
    for (const auto& item : weights.named_buffers()) file.tensors.emplace_back(prefix + item.key(), item.value());
  };
  add_weights("model.", model);
  if (best && progress.best_step > 0) add_weights("best.", *best);
  if (ema)
    for (size_t i = 0; i < ema->shadow().size(); ++i) file.tensors.emplace_back("ema." + std::to_string(i), ema->shadow()[i]);
  torch::serialize::OutputArchive archive;
  optimizer.save(archive);
  std::ostringstream optimizer_bytes;
  archive.save_to(optimizer_bytes);
  file.tensors.emplace_back("optimizer", bytes_tensor(optimizer_bytes.str()));
  for (size_t k = 0; k < generator_states.size(); ++k) file.tensors.emplace_back(generator_name(k), generator_states[k]);
  file.metadata = {{"flowmatch.training_state", "1"},
                   {"step", std::to_string(progress.step)},
                   {"loss_sum", exact(progress.loss_sum)},
                   {"loss_count", std::to_string(progress.loss_count)},
                   {"seconds", exact(progress.seconds)}};
  if (best && progress.best_step > 0) {
    file.metadata["best_step"] = std::to_string(progress.best_step);
    file.metadata["validation_loss"] = exact(progress.validation_loss);
    file.metadata["lines_since_best"] = std::to_string(progress.lines_since_best);
  }
  write_safetensors(path, file);
}

TrainingProgress read_training_progress(const std::string& path) { return progress_of(read_safetensors(path), path, true); }

TrainingProgress load_training_state(const std::string& path, torch::nn::Module& model,
                                     torch::optim::Optimizer& optimizer, Ema* ema,
                                     std::vector<at::Tensor>& generator_states, torch::nn::Module* best) {
  Safetensors file = read_safetensors(path);
  TrainingProgress progress = progress_of(file, path, best != nullptr);
  at::Tensor fresh = at::make_generator<at::CPUGeneratorImpl>().get_state();
  generator_states.clear();
  for (std::string name = generator_name(0); file.has(name); name = generator_name(generator_states.size())) {
    const at::Tensor& state = file.at(name);
    if (state.sizes() != fresh.sizes() || state.scalar_type() != fresh.scalar_type())
      throw Error(path + ": '" + name + "' is not a CPU generator's state");
    generator_states.push_back(state);
  }
  if (generator_states.empty()) throw Error(path + ": no 'generator' state in the file");
  size_t expected = 1 + generator_states.size();  // the optimizer and the generators
  torch::NoGradGuard no_grad;
  auto restore = [&](const std::string& name, at::Tensor target) {
    at::Tensor source;
    try {
      source = file.at(name);
    } catch (const Error& e) {
      throw Error(path + ": " + e.what());
    }
    if (source.sizes() != target.sizes() || source.scalar_type() != target.scalar_type())
      throw Error(path + ": '" + name + "' does not fit the run's model (" + c10::str(source.sizes()) + " vs " +
                  c10::str(target.sizes()) + "); was the run's config changed?");
    target.copy_(source);
    ++expected;
  };
  auto restore_weights = [&](const std::string& prefix, torch::nn::Module& weights) {
    for (auto& item : weights.named_parameters()) restore(prefix + item.key(), item.value());
    for (auto& item : weights.named_buffers()) restore(prefix + item.key(), item.value());
  };
  restore_weights("model.", model);
  if (progress.best_step > 0) restore_weights("best.", *best);
  if (ema)
    for (size_t i = 0; i < ema->shadow().size(); ++i) restore("ema." + std::to_string(i), ema->shadow()[i]);
  if (expected != file.tensors.size())
    throw Error(path + ": the state holds " + std::to_string(file.tensors.size()) + " tensors but this run has " +
                std::to_string(expected) + " (was --ema changed?)");
  try {
    at::Tensor bytes = file.at("optimizer").contiguous();
    torch::serialize::InputArchive archive;
    archive.load_from(reinterpret_cast<const char*>(bytes.data_ptr<uint8_t>()), size_t(bytes.numel()));
    optimizer.load(archive);
  } catch (const Error& e) {
    throw Error(path + ": " + e.what());
  } catch (const std::exception& e) {
    throw Error(path + ": cannot restore the optimizer: " + e.what());
  }
  return progress;
}

}  // namespace flowmatch
