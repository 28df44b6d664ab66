#pragma once
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "flowmatch/io/safetensors.h"
#include "flowmatch/model/velocity_model.h"

namespace flowmatch {

// Builds a model from its config: {"name": "mlp" | "seed-mlp", "data_dim": D, ...options} or
// {"name": "unet", "image_shape": [C, H, W], ...options} or {"name": "token-mlp" | "transformer",
// "length": L, "vocabulary": V, ...options}. Options
// left out take their defaults; unknown names and options throw Error.
std::shared_ptr<VelocityModel> make_model(const nlohmann::json& config);
// The number of values (parameters and buffers) the model built from `config` would hold, without
// building it at full size: a points model's count is quadratic in data_dim at most (its input and
// output layers, and the mlp's linear term), so it is counted at data_dim 1, 2 and 3 and
// extrapolated. For refusing a model too large for memory before allocating it; draws nothing from
// the default random generator.
double model_value_count(const nlohmann::json& config);
// mlp, seed-mlp, unet, and the token models token-mlp and transformer: one entry each in
// model_registry.cpp.
std::vector<std::string> model_names();

// Weights as safetensors under PyTorch state_dict names, with the model config in
// __metadata__["flowmatch.model"], so loading needs no architecture flags.
void save_model(const std::string& path, VelocityModel& model, const std::map<std::string, std::string>& metadata = {});
// Loads a file written by save_model (or by PyTorch with the same names and metadata); throws
// Error on a missing config, missing or extra tensors, or a shape that does not match.
std::shared_ptr<VelocityModel> load_model(const std::string& path);
// The same from a file already read; `path` names it in errors.
std::shared_ptr<VelocityModel> load_model(const Safetensors& file, const std::string& path);

}  // namespace flowmatch
