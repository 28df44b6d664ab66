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
#include "flowmatch/model/token_mlp.h"
#include "flowmatch/model/token_transformer.h"
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
                                                            {"token-mlp", TokenMLP::from_config},
                                                            {"transformer", TokenTransformer::from_config},
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

double model_value_count(const nlohmann::json& config) {
  at::Generator gen = at::detail::getDefaultCPUGenerator();
  struct KeepState {  // the models' initial weights draw from it; put it back however this ends
    at::Generator& gen;
    at::Tensor state;
    ~KeepState() { gen.set_state(state); }
  } keep{gen, gen.get_state()};
  auto values = [&config](int64_t data_dim) {
    nlohmann::json c = config;
    if (data_dim > 0) c["data_dim"] = data_dim;
    std::shared_ptr<VelocityModel> model = make_model(c);
    double count = double(parameter_count(*model));
    for (const auto& b : model->buffers()) count += double(b.numel());
    return count;
  };
  const int64_t dim = config.contains("data_dim") && config["data_dim"].is_number_integer() ? config["data_dim"].get<int64_t>() : 0;
  if (dim <= 3) return values(0);
  // Quadratic in data_dim (affine but for the mlp's linear term, D x (D + C)): through D = 1, 2, 3.
  const double one = values(1), two = values(2), three = values(3), k = double(dim - 1);
  return one + (two - one) * k + (three - 2 * two + one) / 2 * k * (k - 1);
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
