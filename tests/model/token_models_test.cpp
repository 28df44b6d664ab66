#include <gtest/gtest.h>
#include <torch/torch.h>

#include "flowmatch/model/model_registry.h"
#include "flowmatch/model/module_weights.h"
#include "test_util.h"

namespace flowmatch {
namespace {

std::vector<nlohmann::json> token_models() {
  return {{{"name", "token-mlp"}, {"length", 3}, {"vocabulary", 7}, {"width", 32}, {"depth", 2}, {"embedding_dim", 8}},
          {{"name", "transformer"}, {"length", 5}, {"vocabulary", 7}, {"width", 16}, {"depth", 2}, {"heads", 2}}};
}

TEST(TokenModels, GiveLogitsForEveryPositionAndRoundTripThroughTheirFiles) {
  testing::TempDir dir;
  for (const auto& config : token_models()) {
    torch::manual_seed(7);
    auto model = make_model(config);
    const int64_t length = config["length"];
    EXPECT_EQ(model->vocabulary(), 7);
    EXPECT_EQ(model->sample_shape(), (std::vector<int64_t>{length}));
    at::Tensor x = torch::randint(0, 8, {4, length}, torch::kLong);  // 7 is the mask
    at::Tensor t = torch::rand({4});
    at::Tensor logits = model->forward(x, t);
    ASSERT_EQ(logits.sizes(), (c10::IntArrayRef{4, length, 7}));
    save_model(dir.file("m.safetensors"), *model);
    auto loaded = load_model(dir.file("m.safetensors"));
    EXPECT_EQ(loaded->config(), model->config());
    EXPECT_TRUE(torch::equal(loaded->forward(x, t), logits)) << config["name"];
    // the logits at a position depend on the other positions' tokens (attention, the MLP over all)
    at::Tensor changed = x.clone();
    changed.select(1, length - 1).fill_(7);
    EXPECT_FALSE(torch::allclose(model->forward(changed, t).select(1, 0), logits.select(1, 0))) << config["name"];
    EXPECT_NE(testing::error_of([&] { model->forward(torch::zeros({4, length + 1}, torch::kLong), t); }).find("int64 tokens [B, "),
              std::string::npos);
  }
  EXPECT_EQ(testing::error_of([] { make_model({{"name", "transformer"}, {"length", 4}, {"vocabulary", 70000}}); }),
            "a token model's vocabulary must lie in 2 .. 65536, got 70000");
  EXPECT_EQ(testing::error_of([] { make_model({{"name", "transformer"}, {"length", 4}, {"vocabulary", 9}, {"width", 30}, {"heads", 4}}); }),
            "transformer's width 30 must be a multiple of its 4 heads");
}

}  // namespace
}  // namespace flowmatch
