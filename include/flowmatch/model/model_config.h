#pragma once
#include <nlohmann/json.hpp>

#include <string>

#include "flowmatch/core/error.h"

namespace flowmatch {

// A model's config JSON as its factory reads it (model_registry.h): each model takes its options
// here with its own defaults, and whatever is left over is an option no model knows.
class ModelConfig {
 public:
  explicit ModelConfig(nlohmann::json config) : config_(std::move(config)) {}

  // Option `key`, or `fallback` when the config leaves it out; throws Error for a value of the wrong type.
  template <typename T>
  T take(const std::string& key, T fallback) {
    if (!config_.contains(key)) return fallback;
    T value;
    try {
      value = config_[key].template get<T>();
    } catch (const nlohmann::json::exception&) {
      throw Error("model option '" + key + "' has the wrong type: " + config_[key].dump());
    }
    config_.erase(key);
    return value;
  }
  // The dimension D of a points model: required, >= 1.
  int64_t take_data_dim() {
    int64_t data_dim = take<int64_t>("data_dim", 0);
    if (data_dim < 1) throw Error("model config needs data_dim >= 1");
    return data_dim;
  }
  // Throws Error naming the first option that model `name` did not take.
  void require_all_taken(const std::string& name) const {
    if (!config_.empty()) throw Error("unknown option '" + config_.begin().key() + "' for model " + name);
  }

 private:
  nlohmann::json config_;
};

}  // namespace flowmatch
