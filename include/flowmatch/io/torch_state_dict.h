#pragma once
#include <string>

#include "flowmatch/io/safetensors.h"

namespace flowmatch {

// The tensors of a state_dict saved by PyTorch's torch.save (the zip format, PyTorch >= 1.6), by
// name in file order. The zip is read with LibTorch's archive reader and data.pkl with
// unpickle_data (safe_unpickler.h), so a file that asks for anything but tensors, dicts and
// numbers is refused and no code runs. `key` picks a state_dict inside a checkpoint dict, as in
// torch.save({"model": model.state_dict(), "optimizer": ..., "step": ...}); "" takes the file's
// own dict. Throws Error naming `path` and the problem: not a zip (the legacy format says so), a
// truncated archive, a missing storage, a value that is not a tensor, or a key that is not there
// (listing the ones that are).
Safetensors read_torch_state_dict(const std::string& path, const std::string& key = "");

}  // namespace flowmatch
