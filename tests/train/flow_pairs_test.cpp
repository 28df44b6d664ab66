// A flow's own pairs (reflow, distillation): made by integrating a field with a known flow, stored
// and read back, and malformed files refused.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <filesystem>

#include "flowmatch/core/error.h"
#include "flowmatch/io/safetensors.h"
#include "flowmatch/objective/training_pairs.h"
#include "flowmatch/train/flow_pairs.h"

namespace flowmatch {
namespace {
namespace fs = std::filesystem;

// v(x, t) = 2 t c: the flow moves every point by c between t = 0 and t = 1 (rk4 integrates it exactly).
class AcceleratingField : public VelocityModel {
 public:
  at::Tensor forward(const at::Tensor& x, const at::Tensor& t) override {
    return 2 * t.unsqueeze(1) * torch::tensor({1.0f, -3.0f}).to(x.scalar_type()).expand_as(x);
  }
  nlohmann::json config() const override { return {{"name", "accelerating"}}; }
  std::vector<int64_t> sample_shape() const override { return {2}; }
};

TEST(FlowPairs, EndsAreWhereTheFlowTakesTheStarts) {
  AcceleratingField field;
  at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(0);
  SolverOptions rk4;
  rk4.steps = 3;
  FlowPairs pairs = make_flow_pairs(field, ModelUsage(), 1000, rk4, 300, gen);  // 4 batches, the last short
  ASSERT_EQ(pairs.z0.sizes(), (std::vector<int64_t>{1000, 2}));
  EXPECT_TRUE(torch::allclose(pairs.z1 - pairs.z0, torch::tensor({1.0f, -3.0f}).expand({1000, 2}), 1e-5, 1e-5));
  EXPECT_NEAR(pairs.z0.std().item<double>(), 1.0, 0.05);  // N(0, I) starts
  EXPECT_EQ(pairs.nfe, 12);
  EXPECT_EQ(pairs.sampler, "rk4, 3 steps");

  ModelUsage from_moons;
  from_moons.source = "moons";
  FlowPairs moons = make_flow_pairs(field, from_moons, 500, rk4, 500, gen);
  EXPECT_GT(moons.z0.max().item<double>(), 1.5);  // moons span about [-4, 4], not a unit normal's centre
  EXPECT_THROW(make_flow_pairs(field, ModelUsage(), 0, rk4, 10, gen), Error);
}

TEST(FlowPairs, RoundTripAndMalformedFiles) {
  fs::path dir = fs::temp_directory_path() / "flowmatch-flow-pairs-test";
  fs::create_directories(dir);
  FlowPairs pairs{torch::randn({50, 3}), torch::randn({50, 3}), {}, "dopri5", 131};
  save_flow_pairs((dir / "pairs.safetensors").string(), pairs);
  FlowPairs back = load_flow_pairs((dir / "pairs.safetensors").string());
  EXPECT_TRUE(back.z0.equal(pairs.z0) && back.z1.equal(pairs.z1));
  EXPECT_EQ(back.sampler, "dopri5");
  EXPECT_EQ(back.nfe, 131);

  FlowPairs given{torch::randn({50, 3}), torch::randn({50, 3}), torch::randn({50, 2}), "rk4, 8 steps", 32};
  save_flow_pairs((dir / "given.safetensors").string(), given);
  EXPECT_TRUE(load_flow_pairs((dir / "given.safetensors").string()).context.equal(given.context));

  Safetensors missing;
  missing.tensors = {{"z0", torch::randn({5, 2})}};
  write_safetensors((dir / "missing.safetensors").string(), missing);
  EXPECT_THROW(load_flow_pairs((dir / "missing.safetensors").string()), Error);
  Safetensors mismatched;
  mismatched.tensors = {{"z0", torch::randn({5, 2})}, {"z1", torch::randn({4, 2})}};
  write_safetensors((dir / "mismatched.safetensors").string(), mismatched);
  EXPECT_THROW(load_flow_pairs((dir / "mismatched.safetensors").string()), Error);
  Safetensors nan;
  nan.tensors = {{"z0", torch::full({5, 2}, NAN)}, {"z1", torch::randn({5, 2})}};
  write_safetensors((dir / "nan.safetensors").string(), nan);
  EXPECT_THROW(load_flow_pairs((dir / "nan.safetensors").string()), Error);
  Safetensors short_context;
  short_context.tensors = {{"z0", torch::randn({5, 2})}, {"z1", torch::randn({5, 2})}, {"context", torch::randn({4, 1})}};
  write_safetensors((dir / "short_context.safetensors").string(), short_context);
  EXPECT_THROW(load_flow_pairs((dir / "short_context.safetensors").string()), Error);
  fs::remove_all(dir);
}

TEST(FixedPairs, DrawsRowsTogether) {
  at::Tensor z0 = torch::arange(100, torch::kFloat).view({50, 2}), z1 = z0 * 10;
  FixedPairs pairs(z0, z1, "test");
  at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(1);
  PairBatch batch = pairs.draw(64, gen);
  EXPECT_TRUE(batch.x1.equal(batch.x0 * 10));
  EXPECT_THROW(FixedPairs(z0, z1.slice(0, 0, 10), "short"), Error);

  FixedPairs given(z0, z1, "given", z0.select(1, 0).unsqueeze(1) * -1);
  EXPECT_EQ(given.context_dim(), 1);
  PairBatch with_context = given.draw(64, gen);
  EXPECT_TRUE(with_context.context.squeeze(1).equal(with_context.x0.select(1, 0) * -1));  // each row's own context
  EXPECT_THROW(FixedPairs(z0, z1, "short context", torch::zeros({10, 1})), Error);
}

}  // namespace
}  // namespace flowmatch
