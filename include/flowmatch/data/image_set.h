#pragma once
#include <ATen/core/Tensor.h>

#include <string>
#include <vector>

namespace flowmatch {

// A set of images for training or evaluation, with class labels when it has them.
struct ImageSet {
  at::Tensor images;                     // [N, C, H, W] float32, pixel values scaled to [-1, 1]
  at::Tensor labels;                     // [N] int64 class indices; undefined when unlabelled
  std::vector<std::string> class_names;  // class k is class_names[k]; empty when unlabelled

  int64_t size() const { return images.size(0); }
  bool labelled() const { return labels.defined(); }
};

// IDX images, uint8 [N, H, W] or [N, H, W, C], and optionally (labels_path not empty) uint8 IDX
// labels [N]; classes are then named by their numbers.
ImageSet read_idx_images(const std::string& images_path, const std::string& labels_path);

// A folder of PNG and JPEG files, each scaled and centre-cropped to image_size × image_size.
// Pictures in sub-folders are labelled by the sub-folder's name (classes sorted by name); pictures
// directly in the folder make an unlabelled set. channels: 1, 3, or 0 for 3 when any picture has
// colour and 1 otherwise. Hidden files and other file types are skipped.
ImageSet read_image_folder(const std::string& folder, int image_size, int channels);

// Built-in sets by name: "fashion-mnist" (Debian's dataset-fashion-mnist); split "train" or "test".
bool is_builtin_image_set(const std::string& name);
ImageSet builtin_image_set(const std::string& name, const std::string& split);

// Image data as the command line names it: a built-in set ("fashion-mnist" is its training split,
// "fashion-mnist:test" the test split), a folder of pictures, or an IDX file (a name ending in .idx
// or -ubyte, optionally .gz).
bool is_image_source(const std::string& source);
// Loads it: labels_path (IDX labels) only for an IDX file; image_size and channels only for a folder.
ImageSet load_image_source(const std::string& source, const std::string& labels_path, int image_size, int channels);

}  // namespace flowmatch
