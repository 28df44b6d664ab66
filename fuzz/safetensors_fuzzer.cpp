// libFuzzer target: the safetensors reader must turn any bytes into a tensor or a flowmatch::Error, and
// nothing else (no crash, no out-of-bounds read, no unbounded allocation, no other exception).
// Built and run by scripts/fuzz.sh.
#include <cstddef>
#include <cstdint>
#include <string>

#include "flowmatch/core/error.h"
#include "flowmatch/io/safetensors.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    flowmatch::parse_safetensors(std::string(reinterpret_cast<const char*>(data), size), "input");
  } catch (const flowmatch::Error&) {
  }
  return 0;
}
