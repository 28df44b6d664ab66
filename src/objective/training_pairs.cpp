#include "flowmatch/objective/training_pairs.h"

#include <torch/torch.h>

#include "flowmatch/core/error.h"
#include "flowmatch/model/velocity_model.h"

namespace flowmatch {

CoupledPairs::CoupledPairs(PointData data, std::optional<PointData> source, std::unique_ptr<Coupling> coupling)
    : data_(std::move(data)), source_(std::move(source)), coupling_(std::move(coupling)) {
  if (source_ && source_->dim() != data_.dim())
    throw Error("the source " + source_->source() + " is " + std::to_string(source_->dim()) + "-D but the data " +
                data_.source() + " is " + std::to_string(data_.dim()) + "-D");
}

std::string CoupledPairs::describe() const {
  return data_.source() + (data_.is_finite() ? " (a fixed set)" : "") + " from " +
         (source_ ? source_->source() : "N(0, I)") + ", " + coupling_->name() + " coupling";
}

PairBatch CoupledPairs::draw(int64_t batch, at::Generator& gen) const {
  at::Tensor x1 = data_.batch(batch, gen);
  at::Tensor x0 = source_ ? source_->batch(batch, gen) : torch::randn(x1.sizes(), gen);
  return {x0, coupling_->pair(x0, x1), {}, {}};
}

FixedPairs::FixedPairs(at::Tensor z0, at::Tensor z1, std::string description, at::Tensor context)
    : z0_(std::move(z0)), z1_(std::move(z1)), context_(std::move(context)), description_(std::move(description)) {
  if (z0_.dim() != 2 || z0_.sizes() != z1_.sizes() || z0_.size(0) < 1)
    throw Error("pairs must be two [N, D] arrays of the same shape, got " + c10::str(z0_.sizes()) + " and " +
                c10::str(z1_.sizes()));
  if (context_.defined() && (context_.dim() != 2 || context_.size(0) != z0_.size(0)))
    throw Error("the pairs' contexts must be [N, C] with N = " + std::to_string(z0_.size(0)) + ", got " +
                c10::str(context_.sizes()));
  for (const at::Tensor& t : {z0_, z1_, context_})
    if (t.defined() && !torch::isfinite(t).all().item<bool>()) throw Error("the pairs hold non-finite values");
  z0_ = z0_.to(torch::kFloat);
  z1_ = z1_.to(torch::kFloat);
  if (context_.defined()) context_ = context_.to(torch::kFloat);
}

PairBatch FixedPairs::draw(int64_t batch, at::Generator& gen) const {
  at::Tensor rows = torch::randint(0, z0_.size(0), {batch}, gen, torch::kLong);
  return {z0_.index_select(0, rows), z1_.index_select(0, rows), {}, context_.defined() ? context_.index_select(0, rows) : at::Tensor()};
}

ImagePairs::ImagePairs(ImageSet images, std::string description, bool flip)
    : images_(std::move(images)), description_(std::move(description)), flip_(flip) {
  if (images_.size() == 0) throw Error(description_ + " holds no images");
}

std::vector<int64_t> ImagePairs::sample_shape() const {
  auto sizes = images_.images.sizes();
  return {sizes.begin() + 1, sizes.end()};
}

std::string ImagePairs::describe() const {
  std::string classes = images_.labelled() ? ", " + std::to_string(images_.class_names.size()) + " classes" : "";
  return description_ + " (" + std::to_string(images_.size()) + " images " + describe_shape(sample_shape()) + classes +
         (flip_ ? ", random flips" : "") + ") from N(0, I)";
}

PairBatch ImagePairs::draw(int64_t batch, at::Generator& gen) const {
  at::Tensor rows = torch::randint(0, images_.size(), {batch}, gen, torch::kLong);
  PairBatch pairs;
  pairs.x1 = images_.images.index_select(0, rows);
  if (flip_) {
    at::Tensor flipped = torch::rand({batch, 1, 1, 1}, gen) < 0.5;
    pairs.x1 = torch::where(flipped, pairs.x1.flip({3}), pairs.x1);
  }
  pairs.x0 = torch::randn(pairs.x1.sizes(), gen);
  if (images_.labelled()) pairs.labels = images_.labels.index_select(0, rows);
  return pairs;
}

}  // namespace flowmatch
