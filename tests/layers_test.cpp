// The library's layers (CMakeLists.txt's FLOWMATCH_LAYERS, bottom to top): every file of
// include/flowmatch/<layer>/ and src/<layer>/ includes flowmatch headers of its own layer or of a
// layer below, and within a layer no two concepts (a header and its source) include each other in
// a circle. A failure names the file and the include.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <unistd.h>

namespace {

namespace fs = std::filesystem;

std::vector<std::string> split_layers(const std::string& list) {
  std::vector<std::string> layers;
  std::stringstream in(list);
  for (std::string layer; std::getline(in, layer, ',');) layers.push_back(layer);
  return layers;
}

// One library file: its layer, its concept (the file name without extension) and the flowmatch
// headers it includes, as "layer/concept".
struct LibraryFile {
  std::string path, layer, concept_name;
  std::vector<std::string> includes;
};

// The "layer/name" of every `#include "flowmatch/layer/name.h"` line (spaces allowed around the words).
std::vector<std::string> flowmatch_includes(const fs::path& file) {
  std::vector<std::string> found;
  std::ifstream in(file);
  for (std::string line; std::getline(in, line);) {
    size_t at = 0;
    auto skip_spaces = [&] { at = std::min(line.size(), line.find_first_not_of(" \t", at)); };
    auto take = [&](const std::string& word) {
      skip_spaces();
      if (line.compare(at, word.size(), word) != 0) return false;
      at += word.size();
      return true;
    };
    if (!take("#") || !take("include") || !take("\"flowmatch/")) continue;
    size_t end = line.find(".h\"", at);
    if (end != std::string::npos) found.push_back(line.substr(at, end - at));
  }
  return found;
}

// The problems of the tree at `root` under `layers`; empty when it keeps the rule.
std::vector<std::string> layer_problems(const fs::path& root, const std::vector<std::string>& layers) {
  std::map<std::string, size_t> rank;
  for (size_t i = 0; i < layers.size(); ++i) rank[layers[i]] = i;
  std::vector<std::string> problems;
  std::vector<LibraryFile> files;
  for (const fs::path& top : {root / "include" / "flowmatch", root / "src"}) {
    if (!fs::exists(top)) continue;
    for (const auto& entry : fs::recursive_directory_iterator(top)) {
      if (!entry.is_regular_file()) continue;
      fs::path relative = fs::relative(entry.path(), top);
      std::string shown = fs::relative(entry.path(), root).string();
      if (relative == "pch.h") continue;  // the precompiled header: torch only
      if (std::distance(relative.begin(), relative.end()) != 2 || !rank.count(relative.begin()->string())) {
        problems.push_back(shown + " is not in a layer folder (" + [&] {
          std::string names;
          for (const auto& layer : layers) names += (names.empty() ? "" : " ") + layer;
          return names;
        }() + ")");
        continue;
      }
      files.push_back({shown, relative.begin()->string(), entry.path().stem().string(), flowmatch_includes(entry.path())});
    }
  }
  // Upward includes, and the same-layer graph of concepts.
  std::map<std::string, std::set<std::string>> same_layer;  // "layer/concept" -> concepts it includes
  for (const auto& file : files) {
    for (const auto& include : file.includes) {
      fs::path header(include);
      std::string layer = header.has_parent_path() ? header.parent_path().string() : "";
      if (!rank.count(layer)) {
        problems.push_back(file.path + " includes flowmatch/" + include + ".h, which is in no layer");
      } else if (rank[layer] > rank[file.layer]) {
        problems.push_back(file.path + " includes flowmatch/" + include + ".h: layer " + layer + " is above " +
                           file.layer);
      } else if (layer == file.layer && header.stem().string() != file.concept_name) {
        same_layer[file.layer + "/" + file.concept_name].insert(include);
      }
    }
  }
  // A circle among a layer's concepts: depth-first search, reporting the first one found.
  std::map<std::string, int> state;  // 1: on the current path, 2: done
  std::vector<std::string> path;
  std::function<bool(const std::string&)> visit = [&](const std::string& node) {
    state[node] = 1;
    path.push_back(node);
    for (const auto& next : same_layer[node]) {
      if (state[next] == 1) {
        std::string circle;
        for (auto it = std::find(path.begin(), path.end(), next); it != path.end(); ++it) circle += *it + " -> ";
        problems.push_back("include circle: " + circle + next + " (move the shared part into a file of its own)");
        return true;
      }
      if (state[next] == 0 && visit(next)) return true;
    }
    path.pop_back();
    state[node] = 2;
    return false;
  };
  for (const auto& [node, edges] : same_layer)
    if (state[node] == 0 && visit(node)) break;
  return problems;
}

std::string listed(const std::vector<std::string>& problems) {
  std::string text;
  for (const auto& problem : problems) text += "  " + problem + "\n";
  return text;
}

TEST(Layers, EveryLibraryFileIncludesOnlyItsLayerAndThoseBelow) {
  std::vector<std::string> layers = split_layers(FLOWMATCH_LAYERS);
  ASSERT_GE(layers.size(), 2u);
  std::vector<std::string> problems = layer_problems(FLOWMATCH_SOURCE_DIR, layers);
  EXPECT_TRUE(problems.empty()) << "layers, bottom to top: " << FLOWMATCH_LAYERS << "\n" << listed(problems);
}

// The check itself, on a small tree made here: it must see each kind of problem.
class FakeTree : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::temp_directory_path() / ("flowmatch-layers-" + std::to_string(::getpid()));
    fs::remove_all(root_);
  }
  void TearDown() override { fs::remove_all(root_); }
  void write(const std::string& relative, const std::string& text) {
    fs::create_directories((root_ / relative).parent_path());
    std::ofstream(root_ / relative) << text;
  }
  std::vector<std::string> problems() { return layer_problems(root_, {"core", "model", "train"}); }
  fs::path root_;
};

TEST_F(FakeTree, AcceptsIncludesOfTheSameLayerAndBelow) {
  write("include/flowmatch/core/error.h", "#pragma once\n");
  write("include/flowmatch/model/net.h", "#include \"flowmatch/core/error.h\"\n");
  write("src/model/net.cpp", "#include \"flowmatch/model/net.h\"\n#include \"flowmatch/core/error.h\"\n");
  write("src/train/loop.cpp", "#include \"flowmatch/model/net.h\"\n");
  EXPECT_TRUE(problems().empty()) << listed(problems());
}

TEST_F(FakeTree, NamesTheFileAndTheIncludeThatReachesUp) {
  write("include/flowmatch/train/loop.h", "#pragma once\n");
  write("src/model/net.cpp", "// a comment: #include \"flowmatch/core/error.h\"\n#  include \"flowmatch/train/loop.h\"\n");
  ASSERT_EQ(problems().size(), 1u) << listed(problems());
  EXPECT_EQ(problems()[0], "src/model/net.cpp includes flowmatch/train/loop.h: layer train is above model");
}

TEST_F(FakeTree, RefusesFilesOutsideTheLayers) {
  write("include/flowmatch/loose.h", "#pragma once\n");
  write("src/gui/window.cpp", "\n");
  write("src/core/a.cpp", "#include \"flowmatch/loose.h\"\n");
  std::string all = listed(problems());
  EXPECT_NE(all.find("include/flowmatch/loose.h is not in a layer folder"), std::string::npos) << all;
  EXPECT_NE(all.find("src/gui/window.cpp is not in a layer folder"), std::string::npos) << all;
  EXPECT_NE(all.find("src/core/a.cpp includes flowmatch/loose.h, which is in no layer"), std::string::npos) << all;
}

TEST_F(FakeTree, FindsACircleWithinALayer) {
  write("include/flowmatch/model/a.h", "#include \"flowmatch/model/b.h\"\n");
  write("include/flowmatch/model/b.h", "#pragma once\n");
  write("src/model/b.cpp", "#include \"flowmatch/model/b.h\"\n#include \"flowmatch/model/a.h\"\n");
  ASSERT_EQ(problems().size(), 1u) << listed(problems());
  EXPECT_NE(problems()[0].find("include circle: model/a -> model/b -> model/a"), std::string::npos) << problems()[0];
}

}  // namespace
