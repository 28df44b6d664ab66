#include "flowmatch/ode/stochastic_sampler.h"

#include <torch/torch.h>

#include <cmath>

namespace flowmatch {

namespace {
// c^2(s) = sigma_s^2 - (alpha_s sigma_t / alpha_t)^2: the variance that moving from t back to s adds.
double added_variance(const PathAt& path, double s, double alpha_t, double sigma_t) {
  const PathCoefficients at_s = path(s);
  const double kept = at_s.alpha * sigma_t / alpha_t;
  return at_s.sigma * at_s.sigma - kept * kept;
}
}  // namespace

double renoised_time(const PathAt& path, double t, double variance) {
  const PathCoefficients at_t = path(t);
  if (variance <= 0) return t;
  if (variance >= added_variance(path, 0.0, at_t.alpha, at_t.sigma)) return 0.0;
  double lo = 0.0, hi = t;  // c^2(lo) > variance >= c^2(hi): c^2 falls as s rises to t
  for (int i = 0; i < 60; ++i) {
    const double mid = 0.5 * (lo + hi);
    (added_variance(path, mid, at_t.alpha, at_t.sigma) > variance ? lo : hi) = mid;
  }
  return hi;
}

int64_t restarting_steps(const PathAt& path, double noise_scale, const std::vector<double>& times) {
  int64_t restarts = 0;
  for (size_t i = 1; i + 1 < times.size(); ++i)  // the first step starts at the noise already
    restarts += renoised_time(path, times[i], 2 * noise_scale * path(times[i]).sigma * std::abs(times[i + 1] - times[i])) == 0.0;
  return restarts;
}

StepStart renoising_step_start(const PathAt& path, double noise_scale, at::Generator& gen) {
  return [path, noise_scale, &gen](const at::Tensor& x, double t, double t_next) -> std::pair<at::Tensor, double> {
    const PathCoefficients at_t = path(t);
    if (at_t.alpha <= 0) return {x, t};  // at t = 0 the state is the noise itself
    const double variance = 2 * noise_scale * at_t.sigma * std::abs(t_next - t);  // g(t)^2 h
    const double back = renoised_time(path, t, variance);
    if (back == t) return {x, t};
    const PathCoefficients at_back = path(back);
    const double kept = at_back.alpha / at_t.alpha;
    const double c = std::sqrt(std::max(0.0, at_back.sigma * at_back.sigma - kept * kept * at_t.sigma * at_t.sigma));
    at::Tensor z = torch::randn(x.sizes(), gen, x.options());
    return {kept * x + c * z, back};  // x^ = (alpha^ / alpha) x + c z
  };
}

}  // namespace flowmatch
