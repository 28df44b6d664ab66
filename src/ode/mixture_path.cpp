#include "flowmatch/ode/mixture_path.h"

#include <torch/torch.h>

#include <algorithm>
#include <cmath>

#include "flowmatch/core/error.h"
#include "flowmatch/core/nearest_name.h"

namespace flowmatch {

std::vector<std::string> token_source_names() { return {"mask", "uniform"}; }

void check_token_source(const std::string& source) {
  std::vector<std::string> sources = token_source_names();
  if (std::find(sources.begin(), sources.end(), source) == sources.end())
    throw Error("unknown token source '" + source + "' (mask, uniform)" + did_you_mean(source, sources));
}

at::Tensor draw_token_source(const std::string& source, int64_t vocabulary, int64_t n, int64_t length, at::Generator& gen) {
  if (source == "mask") return torch::full({n, length}, vocabulary, torch::kLong);
  return torch::randint(0, vocabulary, {n, length}, gen, torch::kLong);
}

MixturePath::MixturePath(KappaSchedule schedule, const std::string& name, std::string source, int64_t vocabulary)
    : schedule_(std::move(schedule)), source_(std::move(source)), vocabulary_(vocabulary) {
  check_token_source(source_);
  at::Tensor ends = kappa(torch::tensor({0.0, 1.0}, torch::kDouble));
  if (std::abs(ends[0].item<double>()) > 1e-9 || std::abs(ends[1].item<double>() - 1) > 1e-9)
    throw Error("the " + name + " scheduler cannot make a mixture path: its kappa_t = alpha_t must run from 0 at t = 0 to 1 at t = 1 "
                "(condot, cosine or poly do)");
}

at::Tensor MixturePath::kappa(const at::Tensor& t) const { return schedule_(t).first; }

at::Tensor MixturePath::kappa_rate(const at::Tensor& t) const { return schedule_(t).second; }

at::Tensor MixturePath::draw_source(int64_t n, int64_t length, at::Generator& gen) const {
  return draw_token_source(source_, vocabulary_, n, length, gen);
}

// x_t = x1 where reveal < kappa_t, else x0
at::Tensor mix_tokens(const at::Tensor& x0, const at::Tensor& x1, const at::Tensor& kappa, const at::Tensor& reveal) {
  return torch::where(reveal < kappa.to(reveal.scalar_type()).unsqueeze(1), x1, x0);
}

at::Tensor MixturePath::mix(const at::Tensor& x0, const at::Tensor& x1, const at::Tensor& t, const at::Tensor& reveal) const {
  return mix_tokens(x0, x1, kappa(t), reveal);
}

at::Tensor MixturePath::posterior_log_probs(VelocityModel& model, const at::Tensor& x_t, const at::Tensor& t,
                                            double temperature) const {
  at::Tensor log_probs = torch::log_softmax(model.forward(x_t, t) / temperature, -1);
  if (!masks()) return log_probs;
  at::Tensor revealed = (x_t != mask_token()).unsqueeze(-1);  // carry over: log delta(x_t)
  at::Tensor kept = torch::full_like(log_probs, -INFINITY).scatter_(-1, x_t.clamp_max(vocabulary_ - 1).unsqueeze(-1), 0.0);
  return torch::where(revealed, kept, log_probs);
}

}  // namespace flowmatch
