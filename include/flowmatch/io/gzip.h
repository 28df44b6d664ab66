#pragma once
#include <cstddef>
#include <string>

namespace flowmatch {

// gzip streams (RFC 1952), as Fashion-MNIST's IDX files ship.
bool is_gzip(const std::string& bytes);

// Inflates a gzip stream, stopping once `max_bytes` bytes have come out, so that a short file
// cannot grow into unbounded memory: memory follows the data actually present. The checksum is
// verified whenever the stream ends within the limit. `name` appears in error messages.
std::string gunzip(const std::string& compressed, std::size_t max_bytes, const std::string& name);

}  // namespace flowmatch
