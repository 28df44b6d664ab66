#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <set>

#include "flowmatch/core/error.h"
#include "flowmatch/io/safetensors.h"
#include "flowmatch/model/model_registry.h"
#include "flowmatch/model/time_embedding.h"
#include "test_util.h"

namespace flowmatch {
namespace {

TEST(SeedMLP, HasTheSeedsStateDictAndSize) {
  auto model = make_model({{"name", "seed-mlp"}, {"data_dim", 2}});
  std::set<std::string> names;
  int64_t count = 0;
  for (const auto& p : model->named_parameters()) {
    names.insert(p.key());
    count += p.value().numel();
  }
  std::set<std::string> expected = {"in_projection.weight", "in_projection.bias", "t_projection.weight",
                                    "t_projection.bias",    "out_projection.weight", "out_projection.bias"};
  for (int i = 0; i < 5; ++i) {
    expected.insert("blocks." + std::to_string(i) + ".ff.weight");
    expected.insert("blocks." + std::to_string(i) + ".ff.bias");
  }
  EXPECT_EQ(names, expected);
  // (2*512 + 512) + (512*512 + 512) * 6 + (512*2 + 2)
  EXPECT_EQ(count, 1536 + 262656 * 6 + 1026);
}

// The seed's embedding: t * 10000 against frequencies exp(-k ln(10000) / 255), sin then cos.
TEST(TimeEmbedding, MatchesTheSeedsFormula) {
  at::Tensor frequencies = sinusoidal_frequencies(512);
  ASSERT_EQ(frequencies.size(0), 256);
  EXPECT_FLOAT_EQ(frequencies[0].item<float>(), 1.0f);
  EXPECT_NEAR(frequencies[255].item<float>(), 1e-4f, 1e-9);
  at::Tensor emb = sinusoidal_embedding(torch::tensor({0.0f, 0.25f}), frequencies, 10000.0);
  ASSERT_EQ(emb.sizes(), (std::vector<int64_t>{2, 512}));
  EXPECT_EQ(emb[0].slice(0, 0, 256).abs().max().item<float>(), 0.0f);
  EXPECT_EQ(emb[0].slice(0, 256).min().item<float>(), 1.0f);
  double k = 100, f = std::exp(-k * std::log(10000.0) / 255.0);
  EXPECT_NEAR(emb[1][100].item<float>(), std::sin(2500.0 * f), 1e-3);
  EXPECT_NEAR(emb[1][356].item<float>(), std::cos(2500.0 * f), 1e-3);
}

TEST(ModelRegistry, SavedModelLoadsWithoutArchitectureFlags) {
  testing::TempDir dir;
  for (const std::string name : {"mlp", "seed-mlp"}) {
    torch::manual_seed(0);
    auto model = make_model({{"name", name}, {"data_dim", 3}, {"width", 32}, {"depth", 2}});
    save_model(dir.file(name + ".safetensors"), *model);
    auto loaded = load_model(dir.file(name + ".safetensors"));
    EXPECT_EQ(loaded->config(), model->config());
    at::Tensor x = torch::randn({9, 3}), t = torch::rand({9});
    EXPECT_TRUE(torch::allclose(loaded->forward(x, t), model->forward(x, t))) << name;
    EXPECT_EQ(model->forward(x, t).sizes(), x.sizes());
  }
}

TEST(ModelRegistry, RejectsUnknownNamesOptionsAndMismatchedWeights) {
  testing::TempDir dir;
  EXPECT_THROW(make_model({{"name", "transformer"}, {"data_dim", 2}}), Error);
  EXPECT_THROW(make_model({{"name", "mlp"}, {"data_dim", 2}, {"widht", 3}}), Error);
  EXPECT_THROW(make_model({{"name", "mlp"}, {"data_dim", 0}}), Error);
  EXPECT_THROW(make_model({{"name", "mlp"}, {"data_dim", 2}, {"activation", "tanh"}}), Error);
  auto model = make_model({{"name", "mlp"}, {"data_dim", 2}, {"width", 16}, {"depth", 1}});
  save_model(dir.file("m.safetensors"), *model);
  // The same weights under a config that claims a wider network must not load.
  Safetensors file = read_safetensors(dir.file("m.safetensors"));
  file.metadata["flowmatch.model"] = R"({"name":"mlp","data_dim":2,"width":32,"depth":1})";
  write_safetensors(dir.file("wide.safetensors"), file);
  EXPECT_THROW(load_model(dir.file("wide.safetensors")), Error);
  file.metadata.erase("flowmatch.model");
  write_safetensors(dir.file("bare.safetensors"), file);
  EXPECT_THROW(load_model(dir.file("bare.safetensors")), Error);
  // Weights holding a NaN would turn every sample into NaN: refused by tensor name.
  Safetensors poisoned = read_safetensors(dir.file("m.safetensors"));
  poisoned.tensors.back().second = poisoned.tensors.back().second.clone().fill_(NAN);
  write_safetensors(dir.file("nan.safetensors"), poisoned);
  EXPECT_NE(testing::error_of([&] { load_model(dir.file("nan.safetensors")); })
                .find("tensor '" + poisoned.tensors.back().first + "' holds NaN or infinite values"),
            std::string::npos);
}

// Each model fills in its own defaults (its from_config): the config it reports is complete.
// The count found without building the model at full size is the built model's, for each points
// model, with a context and with the linear term (quadratic in D), and finding it leaves the
// default generator where it was.
TEST(ModelRegistry, CountsAModelsValuesWithoutBuildingItOrDrawing) {
  for (nlohmann::json config : {nlohmann::json{{"name", "mlp"}, {"data_dim", 37}, {"width", 16}},
                                nlohmann::json{{"name", "mlp"}, {"data_dim", 5}, {"context_dim", 3}, {"width", 8}},
                                nlohmann::json{{"name", "mlp"}, {"data_dim", 7}, {"context_dim", 3}, {"width", 8},
                                               {"linear_term", true}},
                                nlohmann::json{{"name", "seed-mlp"}, {"data_dim", 11}}}) {
    torch::manual_seed(3);
    const double counted = model_value_count(config);
    const double next_draw = torch::rand({1}).item<double>();
    torch::manual_seed(3);
    EXPECT_EQ(torch::rand({1}).item<double>(), next_draw) << config.dump();
    std::shared_ptr<VelocityModel> model = make_model(config);
    double built = 0;
    for (const auto& p : model->parameters()) built += double(p.numel());
    for (const auto& b : model->buffers()) built += double(b.numel());
    EXPECT_EQ(counted, built) << config.dump();
  }
}

TEST(ModelRegistry, EachModelOwnsItsDefaults) {
  EXPECT_EQ(model_names(), (std::vector<std::string>{"mlp", "seed-mlp", "unet", "token-mlp", "transformer"}));
  EXPECT_EQ(testing::error_of([] { make_model({{"name", "mamba"}, {"data_dim", 2}}); }),
            "unknown model 'mamba' (choose mlp, seed-mlp, unet, token-mlp or transformer)");
  EXPECT_EQ(testing::error_of([] { make_model({{"name", "transformer"}, {"data_dim", 2}}); }),
            "a token model's config needs length >= 1");
  EXPECT_EQ(make_model({{"name", "token-mlp"}, {"length", 2}, {"vocabulary", 8}})->config()["width"], 256);
  nlohmann::json seed = make_model({{"name", "seed-mlp"}, {"data_dim", 2}})->config();
  EXPECT_EQ(seed, (nlohmann::json{{"name", "seed-mlp"}, {"data_dim", 2}, {"width", 512}, {"depth", 5}, {"time_dim", 512}}));
  nlohmann::json mlp = make_model({{"name", "mlp"}, {"data_dim", 2}})->config();
  EXPECT_EQ(mlp["width"], 256);
  EXPECT_EQ(mlp["time_scale"], 1000.0);
  // An interval model sees t x 10 unless told otherwise.
  EXPECT_EQ(make_model({{"name", "mlp"}, {"data_dim", 2}, {"interval", true}})->config()["time_scale"], 10.0);
  nlohmann::json unet = make_model({{"name", "unet"}, {"image_shape", {1, 8, 8}}, {"widths", {8}}})->config();
  EXPECT_EQ(unet["groups"], 8);
  EXPECT_EQ(testing::error_of([] { make_model({{"name", "unet"}, {"image_shape", {1, 8, 8}}, {"width", 8}}); }),
            "unknown option 'width' for model unet");
}

}  // namespace
}  // namespace flowmatch
