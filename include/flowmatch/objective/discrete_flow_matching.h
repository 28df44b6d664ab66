#pragma once
#include <ATen/core/Generator.h>
#include <ATen/core/Tensor.h>

#include <memory>

#include "flowmatch/ode/mixture_path.h"
#include "flowmatch/objective/objective.h"
#include "flowmatch/objective/scheduler.h"
#include "flowmatch/objective/time_sampler.h"

namespace flowmatch {

// Discrete flow matching as a training objective: t from the time sampler, each position revealed
// (x_t = x1) where its uniform draw is below kappa_t (mixture_path.h), and the cross entropy of the
// token model's posterior against the data token at every position:
//   L = mean over batch and positions of -log p_1|t(x1 | x_t).
// Its minimiser is the path's true posterior, which is all the sampler's rates need. The pairs
// (token_pairs.h) draw x1 and the source x0.
class DiscreteFlowMatching : public Objective {
 public:
  DiscreteFlowMatching(std::unique_ptr<Scheduler> scheduler, TimeSampler time_sampler);
  TrainingTimes draw_times(const PairBatch& pairs, at::Generator& gen) const override;
  at::Tensor loss(VelocityModel& model, const PairBatch& pairs, const Condition& condition,
                  const TrainingTimes& times) const override;

 private:
  std::unique_ptr<Scheduler> scheduler_;  // kappa_t = alpha_t
  TimeSampler time_sampler_;
};

// The mixture path (ode/mixture_path.h) with kappa_t = alpha_t of the named affine scheduler
// (scheduler.h); throws Error for an unknown scheduler or source, or one whose alpha does not run
// from 0 to 1 (vp).
MixturePath make_mixture_path(const std::string& scheduler, double poly_exponent, const std::string& source, int64_t vocabulary);

// The negative evidence lower bound of the path's Markov chain (Shaul et al. 2024's generalized KL;
// for the mask source the masked-diffusion bound), in nats per sequence, for sequences x1 [N, L]:
//   -log p(x1) <= integral_0^1 E_{x_t} sum_i l_i dt,  with lambda_t = kappa'_t / (1 - kappa_t),
//   l_i = lambda_t [delta(x1_i = x_t_i) - p_1|t(x_t_i | x_t) - (1 - delta(x1_i = x_t_i)) log p_1|t(x1_i | x_t)]
// estimated with `draws` stratified times per sequence (t = (k + u) / draws), each with its own x_t.
// Returns [N] (double): each sequence's estimate.
at::Tensor negative_elbo(VelocityModel& model, const MixturePath& path, const at::Tensor& x1, int64_t draws, at::Generator& gen);

}  // namespace flowmatch
