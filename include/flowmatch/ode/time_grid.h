#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace flowmatch {

// Where a fixed-grid solver evaluates: the times 0 = tau_0 < tau_1 < ... < tau_N = 1 of N steps,
// tau_i = g(i / N) for a grid g picked by name (flowmatch's time: 0 is noise, 1 is data):
//   uniform    g(u) = u
//   shift:S    g(u) = u / (S - (S - 1) u)   SD3's shift (Esser et al. 2024, eq. 23), written for
//              flowmatch's time: SD3 counts noise sigma = 1 - t and maps sigma -> S sigma / (1 + (S - 1) sigma);
//              S > 1 spends more steps near the noise, S < 1 near the data.
//   edm:RHO    g(u) = 1 - (1 - u)^RHO       Karras et al. 2022, eq. 5, sigma_i = (sigma_max^(1/rho) +
//              u (sigma_min^(1/rho) - sigma_max^(1/rho)))^rho on the flow's noise level sigma = 1 - t,
//              whose range is sigma_max = 1 to sigma_min = 0; RHO > 1 spends more steps near the data.
//   cosine     g(u) = (1 - cos(pi u)) / 2   denser at both ends.
// The grid is only ever computed from u = i / N here, so a shift is applied exactly once however
// the grid was named (command line, config file, a model's stored sampler).
class TimeGrid {
 public:
  // Throws Error for an unknown name or a parameter out of range (S, RHO positive and finite).
  explicit TimeGrid(const std::string& spec = "uniform");

  // tau_0 .. tau_steps on [0, 1], ascending, with the ends exactly 0 and 1.
  std::vector<double> unit_times(int64_t steps) const;
  // The same grid laid on [t0, t1] in the direction of integration: t0 + (t1 - t0) tau_i when
  // t0 < t1, and the forward grid's points visited backwards when t0 > t1, so that integrating back
  // from 1 to 0 steps through the very times sampling steps through.
  std::vector<double> times(int64_t steps, double t0, double t1) const;

  bool uniform() const { return kind_ == "uniform"; }

 private:
  double at(double u) const;  // g(u)
  std::string kind_;
  double parameter_ = 0;
};

// uniform, shift:S, edm:RHO, cosine: for help lines and errors.
std::vector<std::string> time_grid_names();

}  // namespace flowmatch
