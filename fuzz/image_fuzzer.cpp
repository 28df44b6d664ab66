// libFuzzer target: the PNG/JPEG reader must turn any bytes into a picture or a flowmatch::Error,
// and nothing else (no crash, no out-of-bounds access, no unbounded allocation, no other
// exception). Each decoded picture is also fitted to a square, as the image folders do.
// Built and run by scripts/fuzz.sh.
#include <cstddef>
#include <cstdint>
#include <string>

#include "flowmatch/core/error.h"
#include "flowmatch/io/image_file.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    at::Tensor picture = flowmatch::decode_image(std::string(reinterpret_cast<const char*>(data), size), 0, "input");
    flowmatch::fit_to_square(picture, 7);
  } catch (const flowmatch::Error&) {
  }
  return 0;
}
