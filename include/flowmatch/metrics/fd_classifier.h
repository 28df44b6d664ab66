#pragma once
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/linear.h>

#include <memory>
#include <string>

#include "flowmatch/data/image_set.h"

namespace flowmatch {

// The judge of `flowmatch fd`: a small convolutional classifier of Fashion-MNIST (1 x 28 x 28, in
// [-1, 1]) that flowmatch trains itself, so its feature space needs no download:
//   conv1 (1 -> 32, 3x3) relu maxpool2 -> conv2 (32 -> 64, 3x3) relu maxpool2 -> conv3 (64 -> 64, 3x3) relu
//   features = relu(hidden(flatten)) [N, 128];  logits = out(features) [N, 10]
class FdClassifier : public torch::nn::Module {
 public:
  static constexpr int64_t kFeatures = 128;
  FdClassifier();
  at::Tensor features(const at::Tensor& images);
  at::Tensor logits(const at::Tensor& features) { return out_(features); }

 private:
  torch::nn::Conv2d conv1_{nullptr}, conv2_{nullptr}, conv3_{nullptr};
  torch::nn::Linear hidden_{nullptr}, out_{nullptr};
};

// How the judge is trained: AdamW on fashion-mnist's training split, from a fixed seed (the same
// seed and thread count give the same bytes).
struct FdClassifierRecipe {
  int64_t steps = 1500;
  int64_t batch = 128;
  double lr = 1e-3;
  uint64_t seed = 0;
};

struct FdJudge {
  std::shared_ptr<FdClassifier> classifier;
  double test_accuracy = 0;  // on fashion-mnist's test split
};

// The judge cached at `path`, or, when there is no file there, one trained now (with a progress
// line) and saved there atomically. Throws Error naming `path` when the file is not a judge.
FdJudge load_or_train_fd_classifier(const std::string& path, const FdClassifierRecipe& recipe = {});
// $XDG_CACHE_HOME/flowmatch/ (or ~/.cache/flowmatch/) fd-classifier-fashion-mnist-v1.safetensors
std::string default_fd_classifier_path();

// Features [N, 128] and predicted classes [N] of images [N, 1, 28, 28], in batches, under inference
// mode; with a `label`, under a progress line of that name.
struct Judgement {
  at::Tensor features, predictions;
};
Judgement judge_images(FdClassifier& classifier, const at::Tensor& images, const std::string& label = "");

}  // namespace flowmatch
