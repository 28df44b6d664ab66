#pragma once
// Every variant of the MLP velocity models, small: what the native engine is held to LibTorch on.
#include <nlohmann/json.hpp>

#include <string>
#include <vector>

namespace flowmatch::testing {

struct MlpVariant {
  std::string label;
  nlohmann::json config;      // 3-D points
  bool dropped_rows = false;  // a context model with some rows' context dropped (guidance training)
};

inline std::vector<MlpVariant> mlp_variants() {
  nlohmann::json mlp = {{"name", "mlp"}, {"data_dim", 3}, {"width", 32}, {"depth", 2}, {"time_dim", 16}};
  nlohmann::json seed = {{"name", "seed-mlp"}, {"data_dim", 3}, {"width", 32}, {"depth", 3}, {"time_dim", 16}};
  auto with = [](nlohmann::json base, const nlohmann::json& changes) {
    base.update(changes);
    return base;
  };
  return {
      {"seed-mlp", seed},
      {"seed-mlp with a context", with(seed, {{"context_dim", 4}}), true},
      {"mlp", mlp},
      {"mlp relu without Fourier features", with(mlp, {{"activation", "relu"}, {"fourier_features", 0}})},
      {"mlp gelu", with(mlp, {{"activation", "gelu"}, {"fourier_features", 5}})},
      {"mlp with an added context", with(mlp, {{"context_dim", 4}}), true},
      {"mlp with a FiLM context", with(mlp, {{"context_dim", 4}, {"context_mode", "film"}, {"depth", 3}}), true},
      {"mlp with an interval input", with(mlp, {{"interval", true}})},
      {"mlp with an interval input and a context", with(mlp, {{"interval", true}, {"context_dim", 2}})},
      {"mlp with the linear term", with(mlp, {{"linear_term", true}})},
      {"mlp with an added context and the linear term", with(mlp, {{"context_dim", 4}, {"linear_term", true}}), true},
  };
}

}  // namespace flowmatch::testing
