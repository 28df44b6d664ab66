#pragma once
#include <ATen/core/Generator.h>
#include <ATen/core/Tensor.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "flowmatch/data/image_set.h"
#include "flowmatch/data/point_data.h"
#include "flowmatch/objective/coupling.h"

namespace flowmatch {

// One training batch: source points x0 (t = 0) and the target points x1 (t = 1) paired with them,
// and x1's class labels [B] (int64) or contexts [B, C] when the data has them.
struct PairBatch {
  at::Tensor x0, x1, labels, context;
};

// Where training batches come from.
class TrainingPairs {
 public:
  virtual ~TrainingPairs() = default;
  virtual std::vector<int64_t> sample_shape() const = 0;  // {D} for points, {C, H, W} for images
  virtual int64_t classes() const { return 0; }            // labelled data: the number of classes
  virtual int64_t context_dim() const { return 0; }        // data with contexts: their size C
  // Rows held out of training, x1 with their labels or contexts (x0 undefined), for a validation
  // loss; none by default.
  virtual std::optional<PairBatch> held_out() const { return std::nullopt; }
  virtual std::string describe() const = 0;  // for logs: "checkerboard from N(0, I), ot coupling"
  virtual PairBatch draw(int64_t batch, at::Generator& gen) const = 0;
};

// x1 from the data and x0 from N(0, I), or from a source dataset (data-to-data transport), paired by
// a coupling: independent, or minibatch optimal transport.
class CoupledPairs : public TrainingPairs {
 public:
  // Throws Error when the source and the data differ in dimension.
  CoupledPairs(PointData data, std::optional<PointData> source = std::nullopt,
               std::unique_ptr<Coupling> coupling = make_coupling("independent"));
  std::vector<int64_t> sample_shape() const override { return {data_.dim()}; }
  std::string describe() const override;
  PairBatch draw(int64_t batch, at::Generator& gen) const override;

 private:
  PointData data_;
  std::optional<PointData> source_;  // empty: N(0, I)
  std::unique_ptr<Coupling> coupling_;
};

// Fixed pairs (z0[i], z1[i]), with their context c[i] when given, drawn row by row with
// replacement: noise and the sample a trained flow made from it (given c[i]), for reflow and
// distillation.
class FixedPairs : public TrainingPairs {
 public:
  // Throws Error unless z0 and z1 are [N, D] of the same shape with N >= 1, the context (when
  // defined) is [N, C], and all are finite.
  FixedPairs(at::Tensor z0, at::Tensor z1, std::string description, at::Tensor context = {});
  std::vector<int64_t> sample_shape() const override { return {z0_.size(1)}; }
  int64_t context_dim() const override { return context_.defined() ? context_.size(1) : 0; }
  std::string describe() const override { return description_; }
  PairBatch draw(int64_t batch, at::Generator& gen) const override;

 private:
  at::Tensor z0_, z1_, context_;
  std::string description_;
};

// Images x1 with their labels, each flipped left-right with probability 1/2 when `flip`, paired
// with noise x0 ~ N(0, I) of the same shape.
class ImagePairs : public TrainingPairs {
 public:
  // Throws Error for an empty set.
  ImagePairs(ImageSet images, std::string description, bool flip);
  std::vector<int64_t> sample_shape() const override;
  int64_t classes() const override { return int64_t(images_.class_names.size()); }
  std::string describe() const override;
  PairBatch draw(int64_t batch, at::Generator& gen) const override;

 private:
  ImageSet images_;
  std::string description_;
  bool flip_;
};

}  // namespace flowmatch
