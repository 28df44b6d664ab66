#include "flowmatch/model/model_registry.h"

#include <torch/torch.h>

#include "flowmatch/core/error.h"
#include "flowmatch/io/safetensors.h"
#include "flowmatch/model/module_weights.h"
#include "flowmatch/model/residual_mlp.h"
#include "flowmatch/model/seed_mlp.h"
#include "flowmatch/model/unet.h"

namespace flowmatch {

namespace {
// Reads option `key` from `config`, erasing it so leftovers can be reported as unknown.
template <typename T>
T take(nlohmann::json& config, const std::string& key, T fallback) {
  if (!config.contains(key)) return fallback;
  T value;
  try {
    value = config[key].get<T>();
  } catch (const nlohmann::json::exception&) {
    throw Error("model option '" + key + "' has the wrong type: " + config[key].dump());
  }
  config.erase(key);
  return value;
}
}  // namespace

std::shared_ptr<VelocityModel> make_model(const nlohmann::json& config_in) {
  nlohmann::json config = config_in;
  std::string name = take<std::string>(config, "name", "");
  auto take_data_dim = [&] {
    int64_t data_dim = take<int64_t>(config, "data_dim", 0);
    if (data_dim < 1) throw Error("model config needs data_dim >= 1");
    return data_dim;
  };
  std::shared_ptr<VelocityModel> model;
  if (name == "unet") {
    UNetOptions o;
    auto image_shape = take<std::vector<int64_t>>(config, "image_shape", {});
    o.widths = take(config, "widths", o.widths);
    o.depth = take(config, "depth", o.depth);
    o.time_dim = take(config, "time_dim", o.time_dim);
    o.groups = take(config, "groups", o.groups);
    o.classes = take(config, "classes", o.classes);
    model = std::make_shared<UNet>(image_shape, o);
  } else if (name == "seed-mlp") {
    int64_t data_dim = take_data_dim();
    int64_t width = take<int64_t>(config, "width", 512);
    int64_t layers = take<int64_t>(config, "depth", 5);
    int64_t time_dim = take<int64_t>(config, "time_dim", 512);
    model = std::make_shared<SeedMLP>(data_dim, width, layers, time_dim);
  } else if (name == "mlp") {
    int64_t data_dim = take_data_dim();
    ResidualMLPOptions o;
    o.width = take(config, "width", o.width);
    o.depth = take(config, "depth", o.depth);
    o.activation = take(config, "activation", o.activation);
    o.time_dim = take(config, "time_dim", o.time_dim);
    o.interval = take(config, "interval", o.interval);
    // MeanFlow differentiates the network in time; through the x1000 embedding that derivative is so
    // steep that training diverges (loss 4e5 by step 1000 on the checkerboard), so interval models see t x 10.
    o.time_scale = take(config, "time_scale", o.interval ? 10.0 : o.time_scale);
    o.fourier_features = take(config, "fourier_features", o.fourier_features);
    o.fourier_scale = take(config, "fourier_scale", o.fourier_scale);
    model = std::make_shared<ResidualMLP>(data_dim, o);
  } else {
    throw Error("unknown model '" + name + "' (choose mlp, seed-mlp or unet)");
  }
  if (!config.empty()) throw Error("unknown option '" + config.begin().key() + "' for model " + name);
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
