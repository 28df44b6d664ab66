// The one way every component kind is picked by name.
#include <gtest/gtest.h>

#include <functional>

#include "flowmatch/core/nearest_name.h"
#include "flowmatch/core/registry.h"
#include "test_util.h"

namespace flowmatch {
namespace {

TEST(Registry, JoinsNamesAsMessagesListThem) {
  EXPECT_EQ(join_names({}), "");
  EXPECT_EQ(join_names({"a"}), "a");
  EXPECT_EQ(join_names({"a", "b"}), "a or b");
  EXPECT_EQ(join_names({"a", "b", "c"}), "a, b or c");
}

TEST(Registry, FindsEachEntryAndRefusesAnUnknownNameListingTheKnownOnes) {
  Registry<std::function<int(int)>> doublers("doubler", {{"twice", [](int x) { return 2 * x; }},
                                                         {"thrice", [](int x) { return 3 * x; }}});
  EXPECT_EQ(doublers["twice"](5), 10);
  EXPECT_EQ(doublers["thrice"](5), 15);
  EXPECT_TRUE(doublers.contains("thrice"));
  EXPECT_FALSE(doublers.contains("once"));
  EXPECT_EQ(doublers.names(), (std::vector<std::string>{"twice", "thrice"}));
  EXPECT_EQ(testing::error_of([&] { doublers["once"]; }), "unknown doubler 'once' (choose twice or thrice)");
  EXPECT_EQ(testing::error_of([&] { doublers["thrcie"]; }), "unknown doubler 'thrcie'; did you mean thrice? (choose twice or thrice)");
}

TEST(Registry, SuggestsTheNameANearMissMeant) {
  std::vector<std::string> options{"--steps", "--seed", "--solver", "--standardize", "--context"};
  EXPECT_EQ(nearest_name("--stpes", options), "--steps");     // two neighbours swapped: distance 1
  EXPECT_EQ(nearest_name("--STEPS", options), "--steps");     // case is ignored
  EXPECT_EQ(nearest_name("--standardise", options), "--standardize");
  EXPECT_EQ(nearest_name("--contexts", options), "--context");
  EXPECT_EQ(nearest_name("--sed", options), "--seed");        // of --seed (1) and --steps (2), the nearer
  EXPECT_EQ(nearest_name("--width", options), "");            // nothing near: no guess
  EXPECT_EQ(nearest_name("ab", {"xy"}), "");                  // a short name allows one edit, not two
  EXPECT_EQ(nearest_name("", {}), "");
  EXPECT_EQ(did_you_mean("trian", {"train", "sample"}), "; did you mean train?");
  EXPECT_EQ(did_you_mean("plot", {"train", "sample"}), "");
}

}  // namespace
}  // namespace flowmatch
