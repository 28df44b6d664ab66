#pragma once
#include <ATen/core/Tensor.h>

#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace flowmatch {

// One value of a data-only pickle: what a PyTorch state_dict or training checkpoint holds.
struct PickleValue {
  enum class Kind { None, Bool, Int, Float, String, Tuple, List, Dict, Global, Storage, Tensor };
  Kind kind = Kind::None;
  int64_t integer = 0;  // Bool, Int
  double real = 0;      // Float
  std::string text;     // String; Global: "module.name"
  // Tuple and List: the items; Dict: key, value, key, value, ... in insertion order. They live in
  // the Unpickled result's containers (a pickle may put a dict inside itself).
  std::vector<PickleValue>* items = nullptr;
  at::Tensor tensor;    // Storage: a 1-D tensor of its dtype; Tensor: the rebuilt tensor

  const char* kind_name() const;
};

// A whole pickle: its value, and every container's items that the value points into.
struct Unpickled {
  PickleValue root;
  std::unique_ptr<std::deque<std::vector<PickleValue>>> containers;
};

// Where a tensor's bytes come from: the storage the pickle names by persistent id
// ('storage', torch.<Type>Storage, key, location, numel), as a 1-D tensor of `dtype` and `numel`.
using StorageLoader = std::function<at::Tensor(const std::string& key, at::ScalarType dtype, int64_t numel)>;

// Reads a pickle (protocols 2 to 5) that holds only data: None, booleans, integers, floats,
// strings, tuples, lists, dicts and OrderedDicts, and tensors rebuilt by
// torch._utils._rebuild_tensor_v2 or _rebuild_parameter from storages. Any other global or
// opcode, which in Python's pickle would import or call code, is refused by name with an Error
// naming `name`; no code ever runs. Truncated or malformed streams also throw Error.
Unpickled unpickle_data(const std::string& bytes, const StorageLoader& load_storage, const std::string& name);

}  // namespace flowmatch
