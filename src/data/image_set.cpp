#include "flowmatch/data/image_set.h"

#include <ATen/Functions.h>
#include <ATen/TensorOperators.h>

#include <algorithm>
#include <cctype>
#include <filesystem>

#include "flowmatch/core/error.h"
#include "flowmatch/core/file_name.h"
#include "flowmatch/io/idx.h"
#include "flowmatch/io/image_file.h"

namespace flowmatch {

namespace fs = std::filesystem;

namespace {
constexpr char kFashionMnistFolder[] = "/usr/share/datasets/fashion-mnist";
const std::vector<std::string> kFashionMnistClasses = {"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                                                       "Sandal",      "Shirt",   "Sneaker",  "Bag",   "Ankle boot"};

// uint8 [N, C, H, W] → float [N, C, H, W] in [-1, 1]: x / 127.5 − 1.
at::Tensor to_unit_range(const at::Tensor& pixels) { return pixels.to(at::kFloat) / 127.5 - 1; }

bool is_picture(const fs::path& file) {
  std::string ext = file.extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return std::tolower(c); });
  return ext == ".png" || ext == ".jpg" || ext == ".jpeg";
}

bool is_hidden(const fs::path& entry) { return entry.filename().string().rfind('.', 0) == 0; }

// The pictures under `folder` (its sub-folders too when `recursive`), sorted by path.
std::vector<fs::path> pictures_in(const fs::path& folder, bool recursive) {
  std::vector<fs::path> files;
  auto take = [&](const fs::directory_entry& entry) {
    if (entry.is_regular_file() && is_picture(entry.path()) && !is_hidden(entry.path())) files.push_back(entry.path());
  };
  if (recursive)
    for (const auto& entry : fs::recursive_directory_iterator(folder)) take(entry);
  else
    for (const auto& entry : fs::directory_iterator(folder)) take(entry);
  std::sort(files.begin(), files.end());
  return files;
}
}  // namespace

ImageSet read_idx_images(const std::string& images_path, const std::string& labels_path) {
  at::Tensor pixels = read_idx(images_path);
  if (pixels.scalar_type() != at::kByte) throw Error(images_path + ": images must be uint8 (IDX type 0x08)");
  if (pixels.dim() == 3) pixels = pixels.unsqueeze(3);
  if (pixels.dim() != 4 || (pixels.size(3) != 1 && pixels.size(3) != 3))
    throw Error(images_path + ": expected images [N, H, W] or [N, H, W, C] with C 1 or 3, got " +
                std::to_string(pixels.dim()) + " dimensions");
  if (pixels.numel() == 0) throw Error(images_path + ": holds no images");
  ImageSet set{to_unit_range(pixels.permute({0, 3, 1, 2})).contiguous(), {}, {}};
  if (labels_path.empty()) return set;

  at::Tensor labels = read_idx(labels_path);
  if (labels.scalar_type() != at::kByte || labels.dim() != 1)
    throw Error(labels_path + ": labels must be a uint8 IDX vector [N]");
  if (labels.size(0) != set.size())
    throw Error(labels_path + ": " + std::to_string(labels.size(0)) + " labels for " + std::to_string(set.size()) +
                " images in " + images_path);
  set.labels = labels.to(at::kLong);
  for (int64_t k = 0; k <= set.labels.max().item<int64_t>(); ++k) set.class_names.push_back(std::to_string(k));
  return set;
}

ImageSet read_image_folder(const std::string& folder, int image_size, int channels) {
  if (!fs::is_directory(folder)) throw Error("image folder " + folder + " does not exist");
  std::vector<fs::path> class_folders;
  for (const auto& entry : fs::directory_iterator(folder))
    if (entry.is_directory() && !is_hidden(entry.path())) class_folders.push_back(entry.path());
  std::sort(class_folders.begin(), class_folders.end());
  std::vector<fs::path> loose = pictures_in(folder, false);
  if (!loose.empty() && !class_folders.empty())
    throw Error(folder + ": holds pictures both directly and in sub-folders; put each class in its own sub-folder, "
                "or all pictures directly in the folder for an unlabelled set");

  ImageSet set;
  std::vector<fs::path> files = loose;
  std::vector<int64_t> labels;
  for (size_t k = 0; k < class_folders.size(); ++k) {
    std::vector<fs::path> members = pictures_in(class_folders[k], true);
    if (members.empty()) throw Error(class_folders[k].string() + ": class folder holds no PNG or JPEG files");
    set.class_names.push_back(class_folders[k].filename().string());
    files.insert(files.end(), members.begin(), members.end());
    labels.insert(labels.end(), members.size(), int64_t(k));
  }
  if (files.empty()) throw Error(folder + ": holds no PNG or JPEG files");

  std::vector<at::Tensor> pictures;
  int widest = 1;  // the most channels any picture has
  for (const fs::path& file : files) {
    pictures.push_back(fit_to_square(read_image(file.string(), channels), image_size));
    widest = std::max(widest, int(pictures.back().size(2)));
  }
  for (at::Tensor& picture : pictures) picture = picture.expand({image_size, image_size, widest});
  set.images = to_unit_range(at::stack(pictures).permute({0, 3, 1, 2})).contiguous();
  if (!labels.empty()) set.labels = at::tensor(labels, at::kLong);
  return set;
}

bool is_builtin_image_set(const std::string& name) { return name == "fashion-mnist"; }

ImageSet builtin_image_set(const std::string& name, const std::string& split) {
  if (!is_builtin_image_set(name)) throw Error("unknown built-in image set '" + name + "' (known: fashion-mnist)");
  if (split != "train" && split != "test") throw Error("unknown split '" + split + "' (known: train, test)");
  std::string prefix = std::string(kFashionMnistFolder) + "/" + (split == "train" ? "train" : "t10k");
  if (!fs::exists(prefix + "-images-idx3-ubyte.gz"))
    throw Error("fashion-mnist is not installed (" + prefix + "-images-idx3-ubyte.gz is missing): "
                "apt-get install dataset-fashion-mnist, or run scripts/install-deps.sh");
  ImageSet set = read_idx_images(prefix + "-images-idx3-ubyte.gz", prefix + "-labels-idx1-ubyte.gz");
  if (set.class_names.size() > kFashionMnistClasses.size())
    throw Error(prefix + "-labels-idx1-ubyte.gz: labels beyond Fashion-MNIST's ten classes");
  set.class_names = kFashionMnistClasses;
  return set;
}

namespace {
// "fashion-mnist:test" -> {"fashion-mnist", "test"}; a plain name is its training split.
std::pair<std::string, std::string> builtin_name_and_split(const std::string& source) {
  size_t colon = source.find(':');
  if (colon == std::string::npos) return {source, "train"};
  return {source.substr(0, colon), source.substr(colon + 1)};
}

bool is_idx_name(const std::string& path) {
  std::string name = ends_with(path, ".gz") ? path.substr(0, path.size() - 3) : path;
  return ends_with(name, ".idx") || ends_with(name, "-ubyte");
}
}  // namespace

bool is_image_source(const std::string& source) {
  return is_builtin_image_set(builtin_name_and_split(source).first) || fs::is_directory(source) || is_idx_name(source);
}

ImageSet load_image_source(const std::string& source, const std::string& labels_path, int image_size, int channels) {
  if (!labels_path.empty() && !is_idx_name(source))
    throw Error("a labels file goes with IDX images only; " + source + " brings its own labels");
  auto [name, split] = builtin_name_and_split(source);
  if (is_builtin_image_set(name)) return builtin_image_set(name, split);
  if (is_idx_name(source)) return read_idx_images(source, labels_path);
  return read_image_folder(source, image_size, channels);
}

}  // namespace flowmatch
