#include "flowmatch/io/torch_state_dict.h"

#include <ATen/Functions.h>
#include <caffe2/serialize/inline_container.h>

#include <cstring>
#include <fstream>
#include <map>

#include "flowmatch/core/error.h"
#include "flowmatch/io/safe_unpickler.h"

namespace flowmatch {

namespace {

using Kind = PickleValue::Kind;

// Refuses what is not a zip archive before LibTorch's reader sees it, saying what it is instead.
void require_zip(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error("cannot open " + path + ": " + std::strerror(errno));
  char magic[4] = {};
  in.read(magic, 4);
  if (in.gcount() == 4 && std::memcmp(magic, "PK\x03\x04", 4) == 0) return;
  if (in.gcount() >= 2 && uint8_t(magic[0]) == 0x80)
    throw Error(path + " is in torch.save's legacy format (PyTorch < 1.6, or _use_new_zipfile_serialization=False); "
                "load it in PyTorch and save it again with torch.save");
  throw Error(path + " is not a torch.save file (a zip archive holding data.pkl)");
}

// The dict's string keys in order, for messages.
std::string list_keys(const PickleValue& dict) {
  std::string keys;
  for (size_t i = 0; i < dict.items->size(); i += 2)
    if ((*dict.items)[i].kind == Kind::String) keys += (keys.empty() ? "'" : ", '") + (*dict.items)[i].text + "'";
  return keys.empty() ? "none" : keys;
}

const PickleValue* find(const PickleValue& dict, const std::string& key) {
  for (size_t i = 0; i < dict.items->size(); i += 2)
    if ((*dict.items)[i].kind == Kind::String && (*dict.items)[i].text == key) return &(*dict.items)[i + 1];
  return nullptr;
}

bool holds_tensors(const PickleValue& dict) {
  for (size_t i = 1; i < dict.items->size(); i += 2)
    if ((*dict.items)[i].kind == Kind::Tensor) return true;
  return false;
}

// The state_dict: the file's dict, or the one under `key`.
const PickleValue& choose_state_dict(const PickleValue& root, const std::string& key, const std::string& path) {
  if (root.kind != Kind::Dict) throw Error(path + " holds a " + root.kind_name() + ", not a state_dict");
  if (key.empty()) {
    if (!holds_tensors(root) && root.items->size() > 0)
      throw Error(path + " holds no tensors at its top level; choose the state_dict with --key (its keys: " +
                  list_keys(root) + ")");
    return root;
  }
  const PickleValue* chosen = find(root, key);
  if (!chosen) throw Error(path + " has no key '" + key + "' (its keys: " + list_keys(root) + ")");
  if (chosen->kind != Kind::Dict) throw Error(path + ": '" + key + "' holds a " + chosen->kind_name() + ", not a state_dict");
  return *chosen;
}

}  // namespace

Safetensors read_torch_state_dict(const std::string& path, const std::string& key) {
  require_zip(path);
  try {
    caffe2::serialize::PyTorchStreamReader archive(path);
    if (archive.hasRecord("byteorder")) {
      auto [data, size] = archive.getRecord("byteorder");
      if (std::string(static_cast<const char*>(data.get()), size) != "little")
        throw Error(path + " was saved on a big-endian machine; flowmatch reads little-endian files only");
    }
    if (!archive.hasRecord("data.pkl")) throw Error(path + " has no data.pkl: it is a zip, but not a torch.save file");
    auto [pickle_data, pickle_size] = archive.getRecord("data.pkl");
    std::string pickle(static_cast<const char*>(pickle_data.get()), pickle_size);
    std::map<std::string, at::Tensor> storages;  // tensors that share a storage read it once
    auto load_storage = [&](const std::string& storage_key, at::ScalarType dtype, int64_t numel) {
      auto known = storages.find(storage_key);
      if (known != storages.end()) return known->second;
      std::string record = "data/" + storage_key;
      if (!archive.hasRecord(record)) throw Error(path + ": the pickle names storage " + record + ", which the archive lacks");
      auto [bytes, size] = archive.getRecord(record);
      int64_t element = int64_t(c10::elementSize(dtype));
      if (numel > int64_t(size) / element || int64_t(size) != numel * element)
        throw Error(path + ": storage " + record + " holds " + std::to_string(size) + " bytes, not " +
                    std::to_string(numel) + " elements of " + c10::toString(dtype));
      at::Tensor storage = at::empty({numel}, at::TensorOptions().dtype(dtype));
      std::memcpy(storage.data_ptr(), bytes.get(), size);
      return storages[storage_key] = storage;
    };
    Unpickled file = unpickle_data(pickle, load_storage, path);
    const PickleValue& dict = choose_state_dict(file.root, key, path);
    Safetensors state;
    for (size_t i = 0; i < dict.items->size(); i += 2) {
      const PickleValue& name = (*dict.items)[i];
      const PickleValue& value = (*dict.items)[i + 1];
      if (name.kind != Kind::String) throw Error(path + ": a state_dict key is a " + name.kind_name() + ", not a string");
      if (value.kind != Kind::Tensor)
        throw Error(path + ": '" + name.text + "' holds a " + value.kind_name() + ", not a tensor" +
                    (key.empty() ? "; if the file is a checkpoint, choose its state_dict with --key" : ""));
      state.tensors.emplace_back(name.text, value.tensor);
    }
    return state;
  } catch (const c10::Error& e) {  // the archive reader: a truncated or corrupt zip
    std::string what = e.what_without_backtrace();
    throw Error(path + " cannot be read as a torch.save archive: " + what.substr(0, what.find('\n')));
  }
}

}  // namespace flowmatch
