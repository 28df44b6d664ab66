#include "flowmatch/train/training_evaluation.h"

#include <torch/torch.h>

#include <algorithm>

#include "flowmatch/core/error.h"
#include "flowmatch/core/nearest_name.h"
#include "flowmatch/data/image_set.h"
#include "flowmatch/data/point_data.h"
#include "flowmatch/figures/figures.h"
#include "flowmatch/figures/image_grid.h"
#include "flowmatch/metrics/fd_classifier.h"
#include "flowmatch/metrics/evaluation.h"
#include "flowmatch/metrics/sample_quality.h"
#include "flowmatch/model/engine.h"
#include "flowmatch/ode/image_sampling.h"
#include "flowmatch/ode/likelihood.h"
#include "flowmatch/ode/sampling.h"
#include "flowmatch/train/point_sampling.h"

namespace flowmatch {

SampleEvaluation::SampleEvaluation(const TrainingData& data, const VelocityModel& model, ModelUsage usage,
                                   EvaluationOptions options)
    : target_(data.data), usage_(std::move(usage)), options_(std::move(options)) {
  if (options_.every <= 0) throw Error("--eval-every must be positive");
  if (model.context_dim() > 0)
    throw Error("--eval-every scores samples against the data, which a context model draws given each context; its "
                "held-out loss (validation_loss in metrics.jsonl) already scores it at every log line");
  if (model.vocabulary() > 0)
    throw Error("--eval-every scores points and images; score a token model's samples with flowmatch eval and its "
                "held-out bound with flowmatch likelihood (docs/discrete.md)");
  images_ = model.sample_shape().size() > 1;
  if (options_.n == 0) options_.n = images_ ? 500 : 2000;
  if (options_.n < 2) throw Error("--eval-n must be at least 2");
  solver_ = options_.solver ? *options_.solver
            : images_       ? SolverOptions{"midpoint", 10}
                            : usage_.sampler.value_or(SolverOptions{});
  validate_sampler(solver_);
  if (images_) {
    if (model.sample_shape() != std::vector<int64_t>{1, 28, 28})
      throw Error("--eval-every scores images with fd's Fashion-MNIST judge, which reads 1 x 28 x 28 images; this model's are " +
                  describe_shape(model.sample_shape()));
    measures_ = {{"fd", true}};
    if (model.classes() > 0) measures_.push_back({"class_accuracy", false});
  } else {
    measures_ = {{"energy_distance", true}, {"sliced_w2", true}};
    if (target_ == "checkerboard") measures_.push_back({"on_cell_fraction", false});
    // The reference points' mean negative log-likelihood, where it is cheap: exact divergences (D
    // backward passes) of a flow from N(0, I) in at most kMaxNllDim dimensions, along the ODE the
    // samples were drawn with (dopri5 would follow the checkerboard's edges for 25 s each time).
    const std::vector<std::string> odes = solver_names();
    if (usage_.source.empty() && model.data_dim() <= kMaxNllDim &&
        std::find(odes.begin(), odes.end(), solver_.method) != odes.end())
      measures_.push_back({"nll", true});
  }
  if (!options_.keep_best.empty() && !kept()) {
    std::vector<std::string> names;
    for (const Measure& m : measures_) names.push_back(m.name);
    std::string list;
    for (const std::string& name : names) list += (list.empty() ? "" : ", ") + name;
    throw Error("--keep-best " + options_.keep_best + " is not a measure of this data (" + list + ")" +
                did_you_mean(options_.keep_best, names));
  }
  if (images_) {  // the judge (trained the first time) and its features of the training images
    std::string path = options_.classifier.empty() ? default_fd_classifier_path() : options_.classifier;
    judge_ = std::make_shared<FdJudge>(load_or_train_fd_classifier(path));
    ImageSet reference = load_image_source(data.data, data.labels, data.image_size, data.channels);
    reference_features_ = judge_images(*judge_->classifier, reference.images, "eval reference").features;
  }
}

bool SampleEvaluation::scores_nll() const {
  return std::any_of(measures_.begin(), measures_.end(), [](const Measure& m) { return m.name == "nll"; });
}

std::optional<Measure> SampleEvaluation::kept() const {
  for (const Measure& m : measures_)
    if (m.name == options_.keep_best) return m;
  return std::nullopt;
}

std::map<std::string, double> SampleEvaluation::score(const std::shared_ptr<VelocityModel>& model, int64_t step,
                                                      const std::string& png_path) const {
  // On the engine `flowmatch sample` picks, so that the scores recompute exactly.
  std::shared_ptr<VelocityModel> engine = on_engine(model, runs_natively(*model, "auto") ? "native" : "torch");
  torch::NoGradGuard no_grad;
  return images_ ? score_images(*engine, step, png_path) : score_points(*engine, step, png_path);
}

std::map<std::string, double> SampleEvaluation::score_points(VelocityModel& model, int64_t step,
                                                             const std::string& png_path) const {
  PointSampling request;
  request.n = options_.n;
  request.show_progress = false;
  at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(options_.seed);
  std::vector<at::Tensor> parts;
  int64_t nfe = 0;
  sample_points(model, usage_, request, solver_, gen, [&](const SampleBatch& batch) {
    parts.push_back(batch.path.x);
    nfe = batch.path.nfe;
  });
  at::Tensor samples = torch::cat(parts);
  draw_density_png(png_path, samples,
                   "step " + std::to_string(step) + ": " + std::to_string(options_.n) + " samples (" + solver_.describe() +
                       ", NFE " + std::to_string(nfe) + ")");
  at::Generator reference_gen = at::make_generator<at::CPUGeneratorImpl>(options_.seed);  // as `eval --seed` draws
  nlohmann::json report = evaluate_samples(samples, target_, 0, reference_gen);
  std::map<std::string, double> scores;
  for (const Measure& m : measures_)
    if (m.name != "nll") scores[m.name] = report.at(m.name).get<double>();
  if (scores_nll()) {  // -mean log p(x) of the reference points `eval` compared with, as `likelihood --n N --seed S` scores them
    at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(options_.seed);
    at::Tensor reference = PointData(target_, 0, gen).reference(std::min(options_.n, kNllPoints), gen);
    LikelihoodOptions along;  // exact divergence, on the samples' ODE
    along.solver = solver_;
    along.solver.noise_scale = 0;
    DensitySolution density = log_likelihood(model, usage_.to_model_units(reference), along, gen);
    scores["nll"] = -(density.log_density.to(torch::kDouble) + usage_.log_density_shift()).mean().item<double>();
  }
  return scores;
}

std::map<std::string, double> SampleEvaluation::score_images(VelocityModel& model, int64_t step,
                                                             const std::string& png_path) const {
  ImageSampling request;
  request.n = options_.n;
  request.show_progress = false;
  at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(options_.seed);
  ImageSamples samples = sample_images(model, request, solver_, gen);
  if (!torch::isfinite(samples.images).all().item<bool>())
    throw Error("the evaluation's samples at step " + std::to_string(step) + " hold non-finite values");
  draw_image_grid_png(png_path, samples.images, samples.labels, usage_.class_names,
                      "step " + std::to_string(step) + ": " + image_grid_title(solver_, samples, 1.0));
  Judgement judged = judge_images(*judge_->classifier, samples.images);
  std::map<std::string, double> scores{{"fd", frechet_distance(judged.features, reference_features_)}};
  if (samples.labels.defined())
    scores["class_accuracy"] = judged.predictions.eq(samples.labels).to(torch::kDouble).mean().item<double>();
  return scores;
}

}  // namespace flowmatch
