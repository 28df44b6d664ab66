#include "flowmatch/ode/time_grid.h"

#include <cmath>
#include <cstdlib>

#include "flowmatch/core/error.h"
#include "flowmatch/core/nearest_name.h"
#include "flowmatch/core/registry.h"

namespace flowmatch {

std::vector<std::string> time_grid_names() { return {"uniform", "shift:S", "edm:RHO", "cosine"}; }

TimeGrid::TimeGrid(const std::string& spec) {
  const size_t colon = spec.find(':');
  kind_ = spec.substr(0, colon);
  const bool parameterised = kind_ == "shift" || kind_ == "edm";
  if (kind_ != "uniform" && kind_ != "cosine" && !parameterised)
    throw Error("unknown time grid '" + spec + "'" + did_you_mean(kind_, {"uniform", "shift", "edm", "cosine"}) +
                " (choose " + join_names(time_grid_names()) + ")");
  if (parameterised != (colon != std::string::npos))
    throw Error("time grid '" + spec + "': " +
                (parameterised ? "give its parameter, as in " + kind_ + (kind_ == "shift" ? ":3" : ":7")
                               : kind_ + " takes no parameter"));
  if (!parameterised) return;
  const std::string value = spec.substr(colon + 1);
  char* end = nullptr;
  parameter_ = std::strtod(value.c_str(), &end);
  if (value.empty() || *end != '\0' || !std::isfinite(parameter_) || parameter_ <= 0)
    throw Error("time grid '" + spec + "': " + (kind_ == "shift" ? "the shift S" : "RHO") +
                " must be a positive number, got '" + value + "'");
}

double TimeGrid::at(double u) const {
  if (kind_ == "shift") return u / (parameter_ - (parameter_ - 1) * u);  // SD3: sigma -> S sigma / (1 + (S - 1) sigma), sigma = 1 - t
  if (kind_ == "edm") return 1 - std::pow(1 - u, parameter_);            // sigma = 1 - t = (1 - u)^rho
  if (kind_ == "cosine") return (1 - std::cos(M_PI * u)) / 2;
  return u;
}

std::vector<double> TimeGrid::unit_times(int64_t steps) const {
  std::vector<double> tau(size_t(steps) + 1);
  for (int64_t i = 0; i <= steps; ++i) tau[size_t(i)] = at(double(i) / double(steps));  // u = i / N, not accumulated
  tau.front() = 0.0;
  tau.back() = 1.0;
  return tau;
}

std::vector<double> TimeGrid::times(int64_t steps, double t0, double t1) const {
  std::vector<double> tau = unit_times(steps), t(tau.size());
  const double lo = std::min(t0, t1), span = std::abs(t1 - t0);
  for (size_t i = 0; i < tau.size(); ++i) t[i] = lo + span * (t0 < t1 ? tau[i] : tau[tau.size() - 1 - i]);
  t.front() = t0;  // the ends exactly as asked
  t.back() = t1;
  return t;
}

}  // namespace flowmatch
