#include <gtest/gtest.h>

#include <filesystem>
#include <functional>
#include <map>

#include "flowmatch/io/idx.h"
#include "flowmatch/io/image_file.h"
#include "flowmatch/io/npy.h"
#include "test_util.h"

namespace flowmatch {
namespace {

// Inputs that once crashed a reader under the fuzzer (fuzz/regressions/READER/) must now give a
// picture or an Error; under scripts/sanitized-tests.sh they also prove no bad access remains.
TEST(FuzzRegressions, EachFormerCrashIsRefusedOrRead) {
  namespace fs = std::filesystem;
  const std::map<std::string, std::function<void(const std::string&)>> readers = {
      {"idx", [](const std::string& path) { read_idx(path); }},
      {"npy", [](const std::string& path) { read_npy(path); }},
      {"image", [](const std::string& path) { fit_to_square(read_image(path, 0), 7); }},
  };
  int checked = 0;
  for (const auto& folder : fs::directory_iterator(FLOWMATCH_FUZZ_REGRESSIONS)) {
    const auto& read = readers.at(folder.path().filename().string());
    for (const auto& file : fs::directory_iterator(folder)) {
      std::string path = file.path().string();
      EXPECT_NO_THROW(testing::error_of([&] { read(path); })) << path;
      ++checked;
    }
  }
  EXPECT_GE(checked, 4);
}

}  // namespace
}  // namespace flowmatch
