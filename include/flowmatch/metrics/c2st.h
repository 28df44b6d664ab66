#pragma once
#include <ATen/core/Tensor.h>

#include <cstdint>

namespace flowmatch {

// The classifier two-sample test as sbibm scores posteriors (its metrics/c2st.py, with
// scikit-learn's MLPClassifier defaults): both sets z-scored with the reference's mean and
// (unbiased) std; an MLP with two hidden layers of 10 D ReLU units and a logistic output, trained
// with Adam (lr 1e-3, L2 alpha 1e-4 added to the loss as alpha/2 |W|^2 / batch) on batches of 200,
// reshuffled every epoch, until the epoch's training loss has not improved by 1e-4 for 10 epochs
// (or max_epochs); k-fold shuffled cross-validation over the 2N points. The result is the mean
// held-out accuracy: 0.5 when the classifier cannot tell the sets apart, 1 when it always can.
struct C2stOptions {
  int64_t folds = 5;
  uint64_t seed = 1;
  int64_t max_epochs = 10000;
  int64_t batch = 200;
  double lr = 1e-3, alpha = 1e-4, tol = 1e-4;
  int64_t epochs_without_improvement = 10;
};

// reference [N, D] and samples [M, D]; throws Error for sets of different widths, fewer rows than
// folds, or non-finite values.
double c2st(const at::Tensor& reference, const at::Tensor& samples, const C2stOptions& options = {});

}  // namespace flowmatch
