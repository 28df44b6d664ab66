#include "flowmatch/model/engine.h"

#include <torch/torch.h>

#include "flowmatch/core/error.h"
#include "flowmatch/model/native_mlp.h"
#include "flowmatch/model/unet.h"

namespace flowmatch {

void check_engine_name(const std::string& engine) {
  if (engine != "auto" && engine != "native" && engine != "torch")
    throw Error("unknown engine '" + engine + "' (choose auto, native or torch)");
}

bool runs_natively(const VelocityModel& model, const std::string& engine) {
  check_engine_name(engine);
  if (engine == "torch") return false;
  if (NativeMLP::runs(model)) return true;
  auto parameters = model.parameters();
  bool float32 = parameters.empty() || parameters.front().scalar_type() == at::kFloat;
  if (const auto* unet = dynamic_cast<const UNet*>(&model); unet && float32) {
    if (unet->native_runs()) return true;
    if (engine == "native")
      throw Error("--engine native runs the unet's convolutions on oneDNN's Winograd kernels, which this CPU lacks "
                  "(they need AVX-512): use --engine torch or auto");
    return false;
  }
  if (engine == "native")
    throw Error("--engine native runs seed-mlp, mlp and unet models in float32; this is a " +
                model.config().value("name", std::string("model")) + (float32 ? "" : " in float64 (--float64)") +
                ": use --engine torch or auto");
  return false;
}

std::shared_ptr<VelocityModel> on_engine(std::shared_ptr<VelocityModel> model, const std::string& engine, int threads) {
  bool native = runs_natively(*model, engine);
  if (auto unet = std::dynamic_pointer_cast<UNet>(model)) {
    unet->use_native(native);
    return model;
  }
  if (!native) return model;
  return std::make_shared<NativeMLP>(std::move(model), threads);
}

}  // namespace flowmatch
