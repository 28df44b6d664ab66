#pragma once
#include <ATen/core/Generator.h>
#include <ATen/core/Tensor.h>

#include <string>

namespace flowmatch {

// The divergence div v = tr(dv/dx) of a batched field v = f(x), x and v [B, D], where point b's
// output depends on point b's input alone (true of every velocity model here), so that one
// backward pass of a batch sum gives every point's row of the Jacobian at once.
// With create_graph the result can itself be differentiated (maximum-likelihood training).

// Exact: sum_i dv_i/dx_i, one backward pass per coordinate (D passes).
at::Tensor exact_divergence(const at::Tensor& v, const at::Tensor& x, bool create_graph);

// Hutchinson's estimator: mean_k eps_kᵀ (dv/dx) eps_k, unbiased because E[eps epsᵀ] = I; one
// backward pass (a vector-Jacobian product) per probe. `probes` is [K, B, D].
at::Tensor hutchinson_divergence(const at::Tensor& v, const at::Tensor& x, const at::Tensor& probes, bool create_graph);

// K probes per point, [K, B, D]: "rademacher" (entries ±1, the lower-variance choice) or "gaussian".
at::Tensor draw_probes(const std::string& kind, int64_t k, int64_t b, int64_t d, at::Generator& gen,
                       const at::TensorOptions& options);

}  // namespace flowmatch
