#pragma once
#include <cstdint>
#include <optional>
#include <vector>

namespace flowmatch {

// The element count of a shape read from a file, or nullopt when the product of its sizes, with
// zeros counted as ones, exceeds max_elements. Zeros are not let off: an empty tensor whose other
// sizes are like 2^32 in many dimensions overflows its strides (the fuzzer found one that took
// 10 s to refuse), and such sizes no longer fit int64_t.
std::optional<uint64_t> element_count(const std::vector<uint64_t>& shape, uint64_t max_elements);

}  // namespace flowmatch
