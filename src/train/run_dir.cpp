#include "flowmatch/train/run_dir.h"

#include <unistd.h>

#include <filesystem>

#include "flowmatch/core/error.h"

namespace flowmatch {
namespace fs = std::filesystem;

void RunDir::create(const std::string& dir, bool overwrite) {
  std::error_code ec;
  if (fs::exists(dir) && !fs::is_directory(dir)) throw Error("cannot use " + dir + " as a run folder: it is a file");
  if (!overwrite && fs::exists(fs::path(dir) / kModel))
    throw Error(dir + " already holds a trained model; choose another --out or pass --overwrite");
  fs::create_directories(dir, ec);
  if (ec) throw Error("cannot create run folder " + dir + ": " + ec.message());
  if (::access(dir.c_str(), W_OK) != 0) throw Error("cannot write to run folder " + dir);
}

std::string resolve_model_path(const std::string& model_or_run_dir) {
  fs::path p(model_or_run_dir);
  if (fs::is_directory(p)) {
    if (!fs::exists(p / RunDir::kModel)) throw Error(model_or_run_dir + " is a folder without " + RunDir::kModel);
    return (p / RunDir::kModel).string();
  }
  if (!fs::exists(p)) throw Error("no such model file or run folder: " + model_or_run_dir);
  return p.string();
}

}  // namespace flowmatch
