// libFuzzer target: the safe unpickler must turn any bytes into a value or a flowmatch::Error, and
// nothing else (no crash, no out-of-bounds read, no leak, no unbounded allocation, no other
// exception). Storages are zeros of the size the pickle asks for, up to 1 M elements.
// Built and run by scripts/fuzz.sh.
#include <ATen/Functions.h>

#include <cstddef>
#include <cstdint>
#include <string>

#include "flowmatch/core/error.h"
#include "flowmatch/io/safe_unpickler.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto storage = [](const std::string&, at::ScalarType dtype, int64_t numel) {
    if (numel > (1 << 20)) throw flowmatch::Error("storage too large");
    return at::zeros({numel}, at::TensorOptions().dtype(dtype));
  };
  try {
    flowmatch::unpickle_data(std::string(reinterpret_cast<const char*>(data), size), storage, "input");
  } catch (const flowmatch::Error&) {
  }
  return 0;
}
