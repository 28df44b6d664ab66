#include "flowmatch/core/progress.h"

#include <gtest/gtest.h>

#include <sstream>
#include <string>
#include <vector>

namespace flowmatch {
namespace {

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

// Away from a terminal (stderr captured to a file): a plain line each time the count passes a
// multiple of log_every, with the value, the note and the time left, and a closing line.
TEST(Progress, PlainLinesShowTheValueTheNoteAndTheTimeLeft) {
  ::testing::internal::CaptureStderr();
  {
    Progress progress("train", 300, 100);
    progress.update(50, 0.9);  // between lines: nothing
    progress.update(100, 0.5);
    progress.note("energy_distance 0.0052");
    progress.update(150, 0.45);
    progress.update(200, 0.25);
    progress.update(300, 0.125);
    progress.finish();
  }
  std::vector<std::string> lines = lines_of(::testing::internal::GetCapturedStderr());
  ASSERT_EQ(lines.size(), 4u);
  EXPECT_NE(lines[0].find("train     100/300 [########................]  loss 0.5  "), std::string::npos) << lines[0];
  EXPECT_EQ(lines[0].find("energy_distance"), std::string::npos) << lines[0];
  EXPECT_NE(lines[1].find("/300 [################........]  loss 0.25  energy_distance 0.0052  "), std::string::npos) << lines[1];
  EXPECT_NE(lines[1].find("ETA "), std::string::npos) << lines[1];
  EXPECT_NE(lines[2].find("300/300"), std::string::npos) << lines[2];
  EXPECT_EQ(lines[3].rfind("train done: 300 steps in ", 0), 0u) << lines[3];
}

TEST(Progress, AMutedLineCountsButPrintsNothing) {
  ::testing::internal::CaptureStderr();
  Progress progress("sample", 10, 1, "nfe", "samples");
  progress.mute();
  progress.update(10, 80);
  progress.finish();
  EXPECT_EQ(::testing::internal::GetCapturedStderr(), "");
  EXPECT_GT(progress.rate(), 0);
}

}  // namespace
}  // namespace flowmatch
