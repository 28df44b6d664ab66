// flowmatch fd SAMPLES [--reference SET] [--labels FILE.npy] [--classifier FILE] [--json FILE]
#include <torch/torch.h>

#include <filesystem>
#include <iostream>
#include <memory>

#include "commands.h"
#include "common.h"
#include "flowmatch/core/error.h"
#include "flowmatch/core/file_name.h"
#include "flowmatch/data/image_set.h"
#include "flowmatch/io/atomic_file.h"
#include "flowmatch/io/npy.h"
#include "flowmatch/metrics/fd_classifier.h"
#include "flowmatch/metrics/sample_quality.h"

namespace flowmatch::cli {

namespace {
struct FdArgs {
  std::string samples, reference = "fashion-mnist:train", floor_set = "fashion-mnist:test", labels, classifier, json;
  bool overwrite = false;
  RunSettings run;
};

void run_fd(const FdArgs& a) {
  if (!a.json.empty()) check_writable_destination(a.json, a.overwrite);
  ImageSet samples = read_images(a.samples, a.labels);
  if (samples.images.dim() != 4 || samples.size() < 2 || samples.images.size(1) != 1 || samples.images.size(2) != 28 ||
      samples.images.size(3) != 28)
    throw Error(a.samples + ": the fd classifier judges Fashion-MNIST-like images [N >= 2, 1, 28, 28], got shape " +
                c10::str(samples.images.sizes()));
  at::Generator gen = start_run(a.run.seed, a.run.threads, Workload::Convolutions);
  std::string classifier_path = a.classifier.empty() ? default_fd_classifier_path() : a.classifier;
  if (!std::filesystem::exists(classifier_path))
    std::cerr << "fd's first run trains its judge, a small Fashion-MNIST classifier (1500 steps: about 1.5 minutes on two "
                 "idle cores, several times that on busy ones), and caches it at "
              << classifier_path << "; later runs reuse it\n";
  FdJudge judge = load_or_train_fd_classifier(classifier_path);
  Judgement judged = judge_images(*judge.classifier, samples.images, "fd samples");
  at::Tensor reference = judge_images(*judge.classifier, load_image_source(a.reference, "", 28, 1).images, "fd reference").features;
  // The floor: the same distance for as many real images from the held-out set.
  ImageSet held_out = load_image_source(a.floor_set, "", 28, 1);
  int64_t n = std::min(samples.size(), held_out.size());
  at::Tensor rows = torch::randperm(held_out.size(), gen, torch::kLong).slice(0, 0, n);
  at::Tensor floor_features = judge_images(*judge.classifier, held_out.images.index_select(0, rows), "fd floor").features;

  nlohmann::json report = {{"samples", a.samples},
                           {"n", samples.size()},
                           {"reference", a.reference},
                           {"fd", frechet_distance(judged.features, reference)},
                           {"floor", frechet_distance(floor_features, reference)},
                           {"floor_set", a.floor_set + " (" + std::to_string(n) + " images)"},
                           {"classifier", classifier_path},
                           {"classifier_test_accuracy", judge.test_accuracy}};
  if (samples.labelled()) {
    at::Tensor correct = judged.predictions.eq(samples.labels).to(torch::kDouble);
    report["class_accuracy"] = correct.mean().item<double>();
    nlohmann::json by_class = nlohmann::json::object();
    for (int64_t k = 0; k < 10; ++k) {
      at::Tensor mine = samples.labels.eq(k);
      if (mine.any().item<bool>()) by_class[std::to_string(k)] = correct.masked_select(mine).mean().item<double>();
    }
    report["class_accuracy_by_class"] = by_class;
  }
  if (!a.json.empty()) write_file_atomically(a.json, report.dump(2) + "\n");
  print_report(report);
}
}  // namespace

void add_fd_command(CLI::App& app) {
  auto args = std::make_shared<FdArgs>();
  CLI::App* cmd = app.add_subcommand(
      "fd", "Fréchet distance of images to Fashion-MNIST in the features of a classifier flowmatch trains (and caches), "
            "with the floor of real held-out images beside it, and the classifier's accuracy on labelled samples");
  cmd->add_option("samples", args->samples, "A .npy of images [N, 1, 28, 28] in [-1, 1] (as flowmatch sample writes), or an image set")
      ->required();
  cmd->add_option("--labels", args->labels, "The samples' class labels (.npy int64); default: SAMPLES.labels.npy when it exists");
  cmd->add_option("--reference", args->reference, "The image set to compare with")->capture_default_str();
  cmd->add_option("--floor-set", args->floor_set, "Real images never trained on, for the floor")->capture_default_str();
  cmd->add_option("--classifier", args->classifier,
                  "The classifier's weights file; trained there (about two minutes) when missing (default: " +
                      default_fd_classifier_path() + ")");
  cmd->add_option("--json", args->json, "Also write the report to this JSON file");
  add_overwrite_flag(cmd, args->overwrite);
  add_run_options(cmd, args->run);
  cmd->callback([args] { run_fd(*args); });
}

}  // namespace flowmatch::cli
