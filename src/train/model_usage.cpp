#include "flowmatch/train/model_usage.h"

#include <torch/torch.h>

#include <nlohmann/json.hpp>

#include "flowmatch/core/error.h"
#include "flowmatch/data/point_data.h"
#include "flowmatch/io/safetensors.h"
#include "flowmatch/model/model_registry.h"
#include "flowmatch/objective/discrete_flow_matching.h"
#include "flowmatch/objective/scheduler.h"
#include "flowmatch/ode/sampling.h"
#include "flowmatch/train/run_dir.h"

namespace flowmatch {

namespace {
constexpr const char* kSource = "flowmatch.source";
constexpr const char* kSampler = "flowmatch.sampler";
constexpr const char* kPath = "flowmatch.path";
constexpr const char* kRectification = "flowmatch.rectification";
constexpr const char* kClasses = "flowmatch.classes";
constexpr const char* kDataScaling = "flowmatch.data_standardization";
constexpr const char* kContextScaling = "flowmatch.context_standardization";
constexpr const char* kContextReach = "flowmatch.context_reach";
constexpr const char* kCharacters = "flowmatch.characters";
}  // namespace

std::map<std::string, std::string> ModelUsage::to_metadata() const {
  std::map<std::string, std::string> metadata;
  if (!source.empty()) metadata[kSource] = source;
  if (rectification != 1) metadata[kRectification] = std::to_string(rectification);
  if (!class_names.empty()) metadata[kClasses] = nlohmann::json(class_names).dump();
  if (data_scaling) metadata[kDataScaling] = data_scaling->to_json();
  if (context_scaling) metadata[kContextScaling] = context_scaling->to_json();
  if (context_reach > 0) metadata[kContextReach] = nlohmann::json(context_reach).dump();
  if (characters) metadata[kCharacters] = nlohmann::json(characters->characters()).dump();
  if (sampler) {
    nlohmann::json entry = {{"solver", sampler->method}, {"steps", sampler->steps}};
    if (sampler->time_grid != "uniform") entry["time_grid"] = sampler->time_grid;
    metadata[kSampler] = entry.dump();
  }
  if (path) {
    nlohmann::json entry = {{"scheduler", path->scheduler}, {"coupling", path->coupling}};
    if (path->scheduler == "poly") entry["exponent"] = path->poly_exponent;
    metadata[kPath] = entry.dump();
  }
  return metadata;
}

ModelUsage ModelUsage::from_metadata(const std::map<std::string, std::string>& metadata, const std::string& path) {
  ModelUsage usage;
  if (auto it = metadata.find(kSource); it != metadata.end()) usage.source = it->second;
  if (auto it = metadata.find(kRectification); it != metadata.end()) {
    usage.rectification = std::atoll(it->second.c_str());
    if (usage.rectification < 1) throw Error(path + ": malformed " + kRectification + " in __metadata__: " + it->second);
  }
  if (auto it = metadata.find(kClasses); it != metadata.end()) {
    nlohmann::json entry = nlohmann::json::parse(it->second, nullptr, false);
    try {
      usage.class_names = entry.get<std::vector<std::string>>();
    } catch (const std::exception&) {
      throw Error(path + ": malformed " + kClasses + " in __metadata__: " + it->second);
    }
  }
  if (auto it = metadata.find(kDataScaling); it != metadata.end())
    usage.data_scaling = Standardization::from_json(it->second, path + ": " + kDataScaling + " in __metadata__");
  if (auto it = metadata.find(kContextScaling); it != metadata.end())
    usage.context_scaling = Standardization::from_json(it->second, path + ": " + kContextScaling + " in __metadata__");
  if (auto it = metadata.find(kContextReach); it != metadata.end()) {
    nlohmann::json entry = nlohmann::json::parse(it->second, nullptr, false);
    if (!entry.is_number() || !(entry.get<double>() > 0) || !std::isfinite(entry.get<double>()))
      throw Error(path + ": malformed " + kContextReach + " in __metadata__: " + it->second);
    usage.context_reach = entry.get<double>();
  }
  if (auto it = metadata.find(kCharacters); it != metadata.end()) {
    nlohmann::json entry = nlohmann::json::parse(it->second, nullptr, false);
    try {
      usage.characters = CharacterVocabulary(entry.get<std::vector<std::string>>());
    } catch (const nlohmann::json::exception&) {
      throw Error(path + ": malformed " + kCharacters + " in __metadata__: " + it->second);
    }
  }
  if (auto it = metadata.find(kSampler); it != metadata.end()) {
    nlohmann::json entry = nlohmann::json::parse(it->second, nullptr, false);
    SolverOptions sampler;
    try {
      sampler.method = entry.at("solver").get<std::string>();
      sampler.steps = entry.at("steps").get<int64_t>();
      sampler.time_grid = entry.value("time_grid", std::string("uniform"));
      validate_sampler(sampler);
    } catch (const std::exception&) {
      throw Error(path + ": malformed " + kSampler + " in __metadata__: " + it->second);
    }
    usage.sampler = sampler;
  }
  if (auto it = metadata.find(kPath); it != metadata.end()) {
    nlohmann::json entry = nlohmann::json::parse(it->second, nullptr, false);
    TrainedPath trained;
    try {
      trained.scheduler = entry.at("scheduler").get<std::string>();
      trained.coupling = entry.at("coupling").get<std::string>();
      trained.poly_exponent = entry.value("exponent", 2.0);
      make_scheduler(trained.scheduler, trained.poly_exponent);
    } catch (const std::exception&) {
      throw Error(path + ": malformed " + kPath + " in __metadata__: " + it->second);
    }
    usage.path = trained;
  }
  return usage;
}

at::Tensor ModelUsage::model_context(const VelocityModel& model, const at::Tensor& context) const {
  if (model.context_dim() == 0)
    throw Error("this model was trained without a context, so it takes none (train it with --context)");
  if (context.dim() != 2 || context.size(1) != model.context_dim())
    throw Error("the model takes " + std::to_string(model.context_dim()) + "-D contexts, got shape " + c10::str(context.sizes()));
  if (!torch::isfinite(context).all().item<bool>()) throw Error("the context holds NaN or infinite values");
  return context_scaling ? context_scaling->apply(context) : context;
}

TrainedModel load_trained_model(const std::string& model_or_run_dir, bool float64) {
  std::string path = resolve_model_path(model_or_run_dir);
  Safetensors file = read_safetensors(path);
  TrainedModel trained{load_model(file, path), ModelUsage::from_metadata(file.metadata, path)};
  if (auto step = file.metadata.find("step"); step != file.metadata.end()) trained.step = std::stoll(step->second);
  const ModelUsage& usage = trained.usage;
  if ((usage.data_scaling && usage.data_scaling->dim() != trained.model->data_dim()) ||
      (usage.context_scaling && usage.context_scaling->dim() != trained.model->context_dim()))
    throw Error(path + ": the standardization in __metadata__ does not fit the model's dimensions");
  if (usage.characters && usage.characters->size() != trained.model->vocabulary())
    throw Error(path + ": the characters in __metadata__ do not fit the model's vocabulary");
  if (float64) trained.model->to(torch::kDouble);
  return trained;
}

void ModelUsage::require_normal_start(const std::string& name) const {
  if (!source.empty())
    throw Error(name + " starts its flow from " + source +
                ", whose density is unknown; log-densities need a flow from N(0, I)");
}

PathAt ModelUsage::path_at(const std::string& name, const std::string& use, bool needs_score) const {
  if (!source.empty())
    throw Error(use + " moves along the path from N(0, I), but " + name + " starts its flow from " + source);
  if (!path)
    throw Error(use + " needs the path the model was trained on, which " + name +
                " does not record (it was written before flowmatch recorded it): train it again");
  if (needs_score && path->coupling != "independent")
    throw Error(use + " needs the score of the path's marginals, which the velocity gives only for independently "
                "drawn pairs; " + name + " was trained on " + path->coupling + "-coupled pairs (sample it with the ODE, "
                "--noise-scale 0)");
  std::shared_ptr<Scheduler> scheduler = make_scheduler(path->scheduler, path->poly_exponent);
  return [scheduler](double t) {
    SchedulerValues values = (*scheduler)(torch::tensor(t, torch::kDouble));
    return PathCoefficients{values.alpha.item<double>(), values.sigma.item<double>(), values.d_alpha.item<double>(),
                            values.d_sigma.item<double>()};
  };
}

MixturePath ModelUsage::mixture_path(const VelocityModel& model, const std::string& name) const {
  if (model.vocabulary() == 0) throw Error(name + " is not a token model (it was not trained with discrete flow matching)");
  TrainedPath trained = path.value_or(TrainedPath{});
  return make_mixture_path(trained.scheduler, trained.poly_exponent, source, model.vocabulary());
}

at::Tensor ModelUsage::draw_start(int64_t n, int64_t dim, at::Generator& gen) const {
  if (source.empty()) return torch::randn({n, dim}, gen);
  PointData start(source, 0, gen);
  if (start.dim() != dim)
    throw Error("the model's source " + source + " is " + std::to_string(start.dim()) + "-D but the model is " +
                std::to_string(dim) + "-D");
  return start.batch(n, gen);
}

}  // namespace flowmatch
