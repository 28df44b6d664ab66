#pragma once
#include <memory>

#include "flowmatch/model/velocity_model.h"

namespace flowmatch {

// The MLP velocity models (seed-mlp and mlp, with their context, FiLM, Fourier and interval inputs)
// computed by hand-written kernels (native/) straight from the LibTorch module's parameter memory,
// without LibTorch's per-operation dispatch and allocations:
// - forward passes for sampling, in tiles of rows that stay in cache, the rows split across threads;
// - a training forward pass that keeps its activations, and the backward pass from it, giving the
//   input gradient (likelihoods' vector-Jacobian products) and adding the weight gradients to the
//   parameters' .grad() as autograd would.
// The module stays the reference implementation: tests/model/native_mlp_test.cpp holds the two to
// 1e-5. Under autograd its velocities are a node whose backward is the native one: dL/dx when x's
// gradient is asked for (likelihoods' vector-Jacobian products) and dL/dW added to the parameters'
// .grad() when loss.backward() asks for every leaf's (a training step). That backward cannot itself
// be differentiated (use the module for that, and for MeanFlow's JVP).
struct NativePass;
class NativeMLP : public VelocityModel {
 public:
  // Whether NativeMLP runs `model`: a float32 seed-mlp or mlp.
  static bool runs(const VelocityModel& model);
  // Throws Error unless runs(*model). `threads` share the rows (0 = one per core); the BLAS must
  // run single-threaded meanwhile (core/threads.h: Workload::NativeKernels).
  explicit NativeMLP(std::shared_ptr<VelocityModel> model, int threads = 0);
  ~NativeMLP() override;

  at::Tensor forward(const at::Tensor& x, const at::Tensor& t) override;
  bool takes_interval() const override;
  using VelocityModel::forward_average;
  at::Tensor forward_average(const at::Tensor& x, const at::Tensor& s, const at::Tensor& t, const Condition& given) override;
  int64_t context_dim() const override;
  at::Tensor forward_context(const at::Tensor& x, const at::Tensor& t, const at::Tensor& context,
                             const at::Tensor& dropped = {}) override;
  nlohmann::json config() const override;
  std::vector<int64_t> sample_shape() const override;
  double floats_per_row() const override;

  // The module whose parameters it computes with.
  VelocityModel& module() const { return *model_; }

  // The training pair: v(x, t | given) (for an interval model u(x, s, t | given); s undefined
  // otherwise), keeping the activations; then, from dL/dv [B, D], adds dL/dW to each parameter's
  // .grad() (created as zeros where undefined) unless `weight_grads` is false, and returns dL/dx with
  // `input_grad` (else undefined). backward may run several times on one forward pass.
  at::Tensor training_forward(const at::Tensor& x, const at::Tensor& s, const at::Tensor& t, const Condition& given);
  at::Tensor backward(const at::Tensor& dv, bool input_grad, bool weight_grads = true);

 private:
  friend struct NativePass;
  struct Engine;
  at::Tensor run(const at::Tensor& x, const at::Tensor& s, const at::Tensor& t, const Condition& given, bool keep);
  uint64_t passes_ = 0;  // passes so far: an autograd backward checks that its own pass is the last
  at::Tensor anchor_;    // NativePass's scalar that requires a gradient

  std::shared_ptr<VelocityModel> model_;
  std::unique_ptr<Engine> engine_;
};

}  // namespace flowmatch
