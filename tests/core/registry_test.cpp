// The one way every component kind is picked by name.
#include <gtest/gtest.h>

#include <functional>

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
}

}  // namespace
}  // namespace flowmatch
