#include "flowmatch/ode/token_sampling.h"

#include <torch/torch.h>

#include <cmath>

#include "flowmatch/core/error.h"

namespace flowmatch {

void TokenSampling::validate() const {
  if (n < 1) throw Error("--n must be positive, got " + std::to_string(n));
  if (steps < 1) throw Error("--steps must be positive, got " + std::to_string(steps));
  if (batch < 1) throw Error("--batch must be positive, got " + std::to_string(batch));
  if (!(temperature > 0) || !std::isfinite(temperature))
    throw Error("--temperature must be a positive number, got " + std::to_string(temperature));
}

namespace {
// One token per position drawn from log-probabilities [B, L, V]: argmax(log p + Gumbel noise).
at::Tensor draw_categorical(const at::Tensor& log_probs, at::Generator& gen) {
  at::Tensor gumbel = -torch::log(-torch::log(torch::rand(log_probs.sizes(), gen).clamp_min(1e-20)));
  return (log_probs + gumbel).argmax(-1);
}

at::Tensor sample_batch(VelocityModel& model, const MixturePath& path, const TokenSampling& request, int64_t rows,
                        int64_t done, at::Generator& gen) {
  const int64_t length = model.sample_shape()[0];
  at::Tensor x = path.draw_source(rows, length, gen);
  const double h = 1.0 / double(request.steps);
  for (int64_t k = 0; k < request.steps; ++k) {
    const double t = double(k) * h;
    // From the mask source a sequence without masks is final (each position's posterior is
    // delta(x_t)): only the others are evaluated.
    at::Tensor moving = path.masks() ? (x == path.mask_token()).any(1).nonzero().squeeze(1) : torch::arange(rows);
    if (moving.numel() > 0) {
      at::Tensor x_moving = x.index_select(0, moving);
      at::Tensor y = draw_categorical(path.posterior_log_probs(model, x_moving, torch::full({moving.numel()}, t), request.temperature), gen);
      at::Tensor kappa = path.kappa(torch::tensor({t, std::min(1.0, t + h)}, torch::kDouble));
      const double jump = k + 1 == request.steps ? 1.0 : (kappa[1].item<double>() - kappa[0].item<double>()) / (1 - kappa[0].item<double>());
      x.index_copy_(0, moving, torch::where(torch::rand(x_moving.sizes(), gen) < jump, y, x_moving));
    }
    if (request.on_progress) request.on_progress((double(done) + double(rows) * double(k + 1) / double(request.steps)) / double(request.n), k + 1);
  }
  return x;
}
}  // namespace

TokenSamples sample_tokens(VelocityModel& model, const MixturePath& path, const TokenSampling& request, at::Generator& gen) {
  request.validate();
  if (model.vocabulary() != path.vocabulary())
    throw Error("the model's vocabulary (" + std::to_string(model.vocabulary()) + ") differs from its path's (" +
                std::to_string(path.vocabulary()) + ")");
  torch::InferenceMode inference;
  std::vector<at::Tensor> batches;
  for (int64_t done = 0; done < request.n; done += request.batch)
    batches.push_back(sample_batch(model, path, request, std::min(request.batch, request.n - done), done, gen));
  return {torch::cat(batches), request.steps};
}

}  // namespace flowmatch
