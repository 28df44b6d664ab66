#include "flowmatch/io/file_shape.h"

#include <algorithm>

namespace flowmatch {

std::optional<uint64_t> element_count(const std::vector<uint64_t>& shape, uint64_t max_elements) {
  uint64_t extent = 1;  // product of max(size, 1): bounds every size, zero or not
  uint64_t count = 1;
  for (uint64_t size : shape) {
    uint64_t factor = std::max<uint64_t>(size, 1);
    if (extent > max_elements / factor) return std::nullopt;
    extent *= factor;
    count *= size;  // count <= extent, so this cannot overflow
  }
  return count;
}

}  // namespace flowmatch
