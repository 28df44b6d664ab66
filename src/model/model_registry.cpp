#include "flowmatch/model/model_registry.h"

#include <torch/torch.h>

#include <functional>

#include "flowmatch/core/error.h"
#include "flowmatch/core/registry.h"
#include "flowmatch/io/safetensors.h"
#include "flowmatch/model/model_config.h"
#include "flowmatch/model/module_weights.h"
#include "flowmatch/model/residual_mlp.h"
#include "flowmatch/model/seed_mlp.h"
#include "flowmatch/model/unet.h"

namespace flowmatch {

namespace {
using ModelFactory = std::function<std::shared_ptr<VelocityModel>(ModelConfig&)>;

// One entry per model; each reads its own options and defaults (its from_config).
const Registry<ModelFactory>& models() {
  static const Registry<ModelFactory> registry("model", {
                                                            {"mlp", ResidualMLP::from_config},
                                                            {"seed-mlp", SeedMLP::from_config},
                                                            {"unet", UNet::from_config},
                                                        });
  return registry;
}
}  // namespace

std::vector<std::string> model_names() { return models().names(); }

std::shared_ptr<VelocityModel> make_model(const nlohmann::json& config_json) {
  ModelConfig config(config_json);
  std::string name = config.take<std::string>("name", "");
  std::shared_ptr<VelocityModel> model = models()[name](config);
  config.require_all_taken(name);
  return model;
}

void save_model(const std::string& path, VelocityModel& model, const std::map<std::string, std::string>& metadata) {
  Safetensors file = module_weights(model);
  file.metadata = metadata;
  file.metadata["format"] = "pt";
  file.metadata["flowmatch.model"] = model.config().dump();
  write_safetensors(path, file);
}

std::shared_ptr<VelocityModel> load_model(const std::string& path) { return load_model(read_safetensors(path), path); }

std::shared_ptr<VelocityModel> load_model(const Safetensors& file, const std::string& path) {
  auto config_entry = file.metadata.find("flowmatch.model");
  if (config_entry == file.metadata.end())
    throw Error(path + ": no model config (__metadata__[\"flowmatch.model\"]); is this a flowmatch weights file?");
  nlohmann::json config = nlohmann::json::parse(config_entry->second, nullptr, false);
  if (config.is_discarded()) throw Error(path + ": the model config in __metadata__ is not valid JSON");
  auto model = make_model(config);
  load_module_weights(*model, file, path);
  return model;
}

}  // namespace flowmatch
