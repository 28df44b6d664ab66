#pragma once
#include <ATen/core/Generator.h>
#include <ATen/core/Tensor.h>

#include <memory>
#include <string>
#include <vector>

namespace flowmatch {

// A simulation-based-inference benchmark task as sbibm defines it (Lueckmann et al. 2021): a prior
// p(theta), a simulator x ~ p(x | theta), and a way to draw the exact posterior p(theta | x_o).
// Tensors are float64: theta [N, theta_dim], x [N, x_dim].
//   gaussian-linear   theta ~ N(0, 0.1 I) in R^10, x ~ N(theta, 0.1 I); posterior N(x_o / 2, 0.05 I)
//   two-moons         theta ~ U[-1, 1]^2; a ~ U(-pi/2, pi/2), r ~ N(0.1, 0.01^2),
//                     x = (r cos a + 0.25 - |theta1 + theta2| / sqrt 2, r sin a + (theta2 - theta1) / sqrt 2)
//   gaussian-mixture  theta ~ U[-10, 10]^2, x ~ 1/2 N(theta, I) + 1/2 N(theta, 0.01 I)
//   slcp              theta ~ U[-3, 3]^5, x = 4 draws from N(m, S) flattened, m = (theta1, theta2),
//                     S = [[s1^2, r s1 s2], [r s1 s2, s2^2]] + 1e-6 I, s1 = theta3^2, s2 = theta4^2, r = tanh theta5
class SbiTask {
 public:
  virtual ~SbiTask() = default;
  virtual std::string name() const = 0;
  virtual int64_t theta_dim() const = 0;
  virtual int64_t x_dim() const = 0;
  virtual at::Tensor prior(int64_t n, at::Generator& gen) const = 0;
  virtual at::Tensor simulate(const at::Tensor& theta, at::Generator& gen) const = 0;
  // n exact draws from p(theta | observation), observation [x_dim] (sbi_posteriors.cpp says how).
  virtual at::Tensor posterior(const at::Tensor& observation, int64_t n, at::Generator& gen) const = 0;
  // [N] bool: theta inside the prior's support.
  virtual at::Tensor in_support(const at::Tensor& theta) const = 0;
};

std::vector<std::string> sbi_task_names();
// Throws Error for an unknown name, listing the tasks.
std::unique_ptr<SbiTask> make_sbi_task(const std::string& name);

}  // namespace flowmatch
