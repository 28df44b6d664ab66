#pragma once
// The path the ODE tests move along.
#include "flowmatch/ode/path_coefficients.h"

namespace flowmatch::testing {

// CondOT, x_t = t x1 + (1 - t) x0: alpha = t, sigma = 1 - t.
inline const PathAt kCondOT = [](double t) { return PathCoefficients{t, 1 - t, 1, -1}; };

}  // namespace flowmatch::testing
