#include "flowmatch/core/threads.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

namespace flowmatch {
namespace {

TEST(OneThreadPerTask, RunsLibTorchOnOneThreadAndGivesTheCountBack) {
  const int before = at::get_num_threads();
  at::set_num_threads(2);
  {
    OneThreadPerTask guard;
    EXPECT_EQ(at::get_num_threads(), 1);
    EXPECT_GE(guard.tasks(), 2);
  }
  EXPECT_EQ(at::get_num_threads(), 2);
  at::set_num_threads(before);
}

}  // namespace
}  // namespace flowmatch
