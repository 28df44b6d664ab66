#include "flowmatch/metrics/fd_classifier.h"

#include <torch/torch.h>

#include <cstdlib>
#include <filesystem>

#include "flowmatch/core/error.h"
#include "flowmatch/core/progress.h"
#include "flowmatch/io/atomic_file.h"
#include "flowmatch/model/module_weights.h"

namespace flowmatch {

namespace nn = torch::nn;

namespace {
constexpr const char* kVersionKey = "flowmatch.fd_classifier";
constexpr const char* kVersion = "fashion-mnist-v1";  // change with the architecture or the recipe
constexpr const char* kAccuracyKey = "test_accuracy";
constexpr int64_t kJudgeBatch = 250;  // larger batches slow down: their activations go through mmap
}  // namespace

FdClassifier::FdClassifier() {
  conv1_ = register_module("conv1", nn::Conv2d(nn::Conv2dOptions(1, 32, 3).padding(1)));
  conv2_ = register_module("conv2", nn::Conv2d(nn::Conv2dOptions(32, 64, 3).padding(1)));
  conv3_ = register_module("conv3", nn::Conv2d(nn::Conv2dOptions(64, 64, 3).padding(1)));
  hidden_ = register_module("hidden", nn::Linear(64 * 7 * 7, kFeatures));
  out_ = register_module("out", nn::Linear(kFeatures, 10));
}

at::Tensor FdClassifier::features(const at::Tensor& images) {
  at::Tensor h = torch::max_pool2d(torch::relu(conv1_(images)), 2);  // 14 x 14
  h = torch::max_pool2d(torch::relu(conv2_(h)), 2);                   // 7 x 7
  h = torch::relu(conv3_(h));
  return torch::relu(hidden_(h.flatten(1)));
}

Judgement judge_images(FdClassifier& classifier, const at::Tensor& images, const std::string& label) {
  if (images.dim() != 4 || images.size(1) != 1 || images.size(2) != 28 || images.size(3) != 28)
    throw Error("the fd classifier judges Fashion-MNIST-like images [N, 1, 28, 28], got " + c10::str(images.sizes()));
  c10::InferenceMode inference;
  classifier.eval();
  const int64_t n = images.size(0);
  Progress progress(label, n, std::max<int64_t>(kJudgeBatch, n / 10), "", "images");
  if (label.empty()) progress.mute();
  std::vector<at::Tensor> features, predictions;
  for (int64_t start = 0; start < n; start += kJudgeBatch) {
    at::Tensor f = classifier.features(images.slice(0, start, start + kJudgeBatch).to(torch::kFloat));
    features.push_back(f);
    predictions.push_back(classifier.logits(f).argmax(1));
    progress.update(std::min(n, start + kJudgeBatch), NAN);
  }
  progress.finish();
  return {torch::cat(features), torch::cat(predictions)};
}

namespace {
double accuracy(FdClassifier& classifier, const ImageSet& set) {
  return judge_images(classifier, set.images).predictions.eq(set.labels).to(torch::kDouble).mean().item<double>();
}

std::shared_ptr<FdClassifier> train_classifier(const ImageSet& train, const FdClassifierRecipe& recipe) {
  torch::manual_seed(recipe.seed);  // the weights' initialisation
  auto gen = at::make_generator<at::CPUGeneratorImpl>(recipe.seed);
  auto classifier = std::make_shared<FdClassifier>();
  classifier->train();
  torch::optim::AdamW optimizer(classifier->parameters(), torch::optim::AdamWOptions(recipe.lr).weight_decay(1e-4));
  Progress progress("fd classifier", recipe.steps, std::max<int64_t>(1, recipe.steps / 10));
  for (int64_t step = 0; step < recipe.steps; ++step) {
    at::Tensor rows = torch::randint(0, train.size(), {recipe.batch}, gen, torch::kLong);
    at::Tensor loss = torch::cross_entropy_loss(classifier->logits(classifier->features(train.images.index_select(0, rows))),
                                                train.labels.index_select(0, rows));
    optimizer.zero_grad();
    loss.backward();
    optimizer.step();
    progress.update(step + 1, loss.item<double>());
  }
  progress.finish();
  return classifier;
}
}  // namespace

std::string default_fd_classifier_path() {
  const char* cache = std::getenv("XDG_CACHE_HOME");
  const char* home = std::getenv("HOME");
  std::string folder = cache && *cache ? std::string(cache) : std::string(home && *home ? home : ".") + "/.cache";
  return folder + "/flowmatch/fd-classifier-" + kVersion + ".safetensors";
}

FdJudge load_or_train_fd_classifier(const std::string& path, const FdClassifierRecipe& recipe) {
  FdJudge judge;
  judge.classifier = std::make_shared<FdClassifier>();
  if (std::filesystem::exists(path)) {
    Safetensors file = read_safetensors(path);
    auto version = file.metadata.find(kVersionKey);
    auto accuracy_entry = file.metadata.find(kAccuracyKey);
    if (version == file.metadata.end() || version->second != kVersion || accuracy_entry == file.metadata.end())
      throw Error(path + " is not a " + kVersion + " fd classifier; delete it to train a new one");
    load_module_weights(*judge.classifier, file, path);
    judge.test_accuracy = std::atof(accuracy_entry->second.c_str());
    return judge;
  }
  // The folder first, so that a path that cannot be written fails before the minutes of training.
  const std::filesystem::path folder = std::filesystem::path(path).parent_path();  // "" for a bare file name
  std::error_code failed;
  if (!folder.empty()) std::filesystem::create_directories(folder, failed);
  if (failed) throw Error("cannot create the cache folder for " + path + ": " + failed.message());
  check_writable_destination(path, false);
  judge.classifier = train_classifier(builtin_image_set("fashion-mnist", "train"), recipe);
  judge.test_accuracy = accuracy(*judge.classifier, builtin_image_set("fashion-mnist", "test"));
  Safetensors file = module_weights(*judge.classifier);
  file.metadata[kVersionKey] = kVersion;
  file.metadata[kAccuracyKey] = std::to_string(judge.test_accuracy);
  write_safetensors(path, file);
  return judge;
}

}  // namespace flowmatch
