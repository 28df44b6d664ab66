#include "flowmatch/objective/discrete_flow_matching.h"

#include <torch/torch.h>

namespace flowmatch {

DiscreteFlowMatching::DiscreteFlowMatching(std::unique_ptr<Scheduler> scheduler, TimeSampler time_sampler)
    : scheduler_(std::move(scheduler)), time_sampler_(std::move(time_sampler)) {}

TrainingTimes DiscreteFlowMatching::draw_times(const PairBatch& pairs, at::Generator& gen) const {
  TrainingTimes times;
  times.t = time_sampler_(pairs.x1.size(0), gen);
  times.reveal = torch::rand(pairs.x1.sizes(), gen);
  return times;
}

// -log p_1|t(x1 | x_t) averaged over batch and positions, x_t = x1 where reveal < kappa_t
at::Tensor DiscreteFlowMatching::loss(VelocityModel& model, const PairBatch& pairs, const Condition&,
                                      const TrainingTimes& times) const {
  at::Tensor x_t = mix_tokens(pairs.x0, pairs.x1, (*scheduler_)(times.t).alpha, times.reveal);
  at::Tensor logits = model.forward(x_t, times.t);
  return torch::nn::functional::cross_entropy(logits.flatten(0, 1), pairs.x1.flatten());
}

MixturePath make_mixture_path(const std::string& scheduler, double poly_exponent, const std::string& source, int64_t vocabulary) {
  std::shared_ptr<Scheduler> alpha = make_scheduler(scheduler, poly_exponent);
  auto kappa = [alpha](const at::Tensor& t) {
    SchedulerValues values = (*alpha)(t);
    return std::pair{values.alpha, values.d_alpha};
  };
  return MixturePath(kappa, scheduler, source, vocabulary);
}

at::Tensor negative_elbo(VelocityModel& model, const MixturePath& path, const at::Tensor& x1, int64_t draws, at::Generator& gen) {
  const int64_t n = x1.size(0), length = x1.size(1);
  at::Tensor total = torch::zeros({n}, torch::kDouble);
  for (int64_t k = 0; k < draws; ++k) {
    at::Tensor t = (k + torch::rand({n}, gen)) / double(draws);  // stratified: one time in each [k, k + 1) / draws
    at::Tensor x_t = path.mix(path.draw_source(n, length, gen), x1, t, torch::rand({n, length}, gen));
    at::Tensor log_p = path.posterior_log_probs(model, x_t, t).to(torch::kDouble);
    at::Tensor same = x_t == x1;
    at::Tensor shows_data = x_t < path.vocabulary();  // the mask token has posterior 0
    at::Tensor p_at_xt = torch::where(shows_data, log_p.gather(-1, x_t.clamp_max(path.vocabulary() - 1).unsqueeze(-1)).squeeze(-1).exp(),
                                      torch::zeros_like(t, torch::kDouble).unsqueeze(1));
    at::Tensor log_p_x1 = log_p.gather(-1, x1.unsqueeze(-1)).squeeze(-1);
    at::Tensor lambda = (path.kappa_rate(t) / (1 - path.kappa(t))).to(torch::kDouble).unsqueeze(1);
    // l_i = lambda [delta - p(x_t_i) - (1 - delta) log p(x1_i)]
    at::Tensor per_position = lambda * (same.to(torch::kDouble) - p_at_xt - torch::where(same, torch::zeros_like(log_p_x1), log_p_x1));
    total += per_position.sum(1) / double(draws);
  }
  return total;
}

}  // namespace flowmatch
