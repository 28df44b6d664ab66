#include "flowmatch/train/model_usage.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "flowmatch/core/error.h"
#include "test_util.h"

namespace flowmatch {
namespace {

// A context model's reach (the 99th percentile of its training contexts' z-score norms) is kept in
// the weights' metadata beside the context's z-score, and a malformed one is refused by name.
TEST(ModelUsage, KeepsTheContextReachAndRefusesAMalformedOne) {
  ModelUsage usage;
  usage.context_scaling = Standardization::fit(torch::randn({50, 3}, torch::kDouble));
  usage.context_reach = 2.75;
  std::map<std::string, std::string> metadata = usage.to_metadata();
  ModelUsage read = ModelUsage::from_metadata(metadata, "m.safetensors");
  EXPECT_EQ(read.context_reach, 2.75);
  ASSERT_TRUE(read.context_scaling.has_value());
  EXPECT_EQ(ModelUsage::from_metadata({}, "old.safetensors").context_reach, 0.0);  // files written before it
  for (const std::string bad : {"-1", "0", "\"2\"", "nan", "[2]"}) {
    metadata["flowmatch.context_reach"] = bad;
    EXPECT_NE(testing::error_of([&] { ModelUsage::from_metadata(metadata, "m.safetensors"); })
                  .find("m.safetensors: malformed flowmatch.context_reach"),
              std::string::npos)
        << bad;
  }
}

}  // namespace
}  // namespace flowmatch
