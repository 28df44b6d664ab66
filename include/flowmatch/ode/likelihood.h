#pragma once
#include <ATen/core/Generator.h>
#include <ATen/core/Tensor.h>

#include <functional>
#include <string>
#include <vector>

#include "flowmatch/model/velocity_model.h"
#include "flowmatch/ode/sampling.h"
#include "flowmatch/ode/solver.h"

namespace flowmatch {

// Exact log-likelihoods of a flow by the instantaneous change of variables (Chen et al. 2018):
// along dx/dt = v(x, t), d log p_t(x_t)/dt = -div v(x_t, t), so with noise p0 = N(0, I) at t = 0
//   log p1(x) = log p0(z) - integral_0^1 div v(x_t, t) dt,   z = x_0 the path's noise end.
// The solver integrates the state [x, l] with dl/dt = div v, l starting at 0.
//
// Arithmetic runs in the model's dtype (convert the model with ->to(torch::kDouble) for float64).
// Under grad mode the result is differentiable with respect to the model's parameters (and x,
// where x requires grad): the divergence is built with create_graph and the solver's steps are
// ordinary tensor operations, so log p can be a training loss. Under torch::NoGradGuard nothing
// is kept but each step's own Jacobian.

struct LikelihoodOptions {
  SolverOptions solver = [] {
    SolverOptions dopri5;
    dopri5.method = "dopri5";
    return dopri5;
  }();
  std::string divergence = "exact";  // exact (D backward passes) | hutchinson
  int64_t probes = 1;                // Hutchinson: probes per point, drawn once per point and held along its path
  std::string probe = "rademacher";  // rademacher | gaussian

  // Throws Error for an unknown divergence or probe, probes < 1, or bad solver options.
  void validate() const;
  // "exact divergence" or "hutchinson, K rademacher probes".
  std::string describe_divergence() const;
};

struct DensitySolution {
  // The points' paths: path.x is the other end (the noise z for log_likelihood, the samples for
  // sample_with_log_density), path.nfe counts network evaluations (each with its divergence).
  Solution path;
  at::Tensor log_density;  // [N]: log p1 at the data end of each path
};

// log p1(x) for data x [N, D], integrating back from t = 1 to t = 0; with a context in `given`
// (one row per point), log p1(x_i | c_i).
DensitySolution log_likelihood(VelocityModel& model, const at::Tensor& x, const LikelihoodOptions& options,
                               at::Generator& gen, const Guidance& given = {});

// Samples from noise [N, D], with each sample's log p1 from the same forward solve.
DensitySolution sample_with_log_density(VelocityModel& model, const at::Tensor& noise, const LikelihoodOptions& options,
                                        at::Generator& gen, const Guidance& given = {});

// log N(z; 0, I) = -|z|^2 / 2 - (D / 2) log(2 pi), per row of z [N, D].
at::Tensor standard_normal_log_density(const at::Tensor& z);

// The mean negative log-likelihood in nats and in bits per dimension (nats / (D ln 2)), each with
// its standard error over the points (std / sqrt(N)).
struct NllSummary {
  double nats = 0, nats_se = 0, bits_per_dim = 0, bits_per_dim_se = 0;
};
NllSummary summarize_nll(const at::Tensor& log_density, int64_t dim);

// The same summary over log-densities that come in batches, without keeping them.
class NllAccumulator {
 public:
  void add(const at::Tensor& log_density);
  NllSummary summary(int64_t dim) const;

 private:
  int64_t n_ = 0;
  double mean_ = 0, squares_ = 0;  // the mean and the sum of squared deviations from it
};

}  // namespace flowmatch
