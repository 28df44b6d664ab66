#pragma once
#include <memory>
#include <string>

#include "flowmatch/model/velocity_model.h"

namespace flowmatch {

// What computes a model, as --engine asks:
// - "native": seed-mlp and mlp as a NativeMLP on `threads` threads (native_mlp.h); the unet with its
//   3 x 3 convolutions on oneDNN's Winograd kernels (unet.h: use_native). Throws Error for a model,
//   or a CPU, it does not run on.
// - "torch": the LibTorch modules alone, the reference.
// - "auto": native where it runs, else torch.
// A unet is the same object either way, switched to the engine asked for.
std::shared_ptr<VelocityModel> on_engine(std::shared_ptr<VelocityModel> model, const std::string& engine, int threads = 0);
// Throws Error unless `engine` is auto, native or torch.
void check_engine_name(const std::string& engine);
// Whether on_engine(model, engine) computes natively.
bool runs_natively(const VelocityModel& model, const std::string& engine);

}  // namespace flowmatch
