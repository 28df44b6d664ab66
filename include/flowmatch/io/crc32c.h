#pragma once
#include <cstdint>
#include <string_view>

namespace flowmatch {

// CRC-32C (Castagnoli, the reflected polynomial 0x82F63B78, initial value and final xor 0xFFFFFFFF),
// the checksum of TFRecord files. crc32c("123456789") = 0xE3069283.
uint32_t crc32c(std::string_view bytes);

// The masked form TFRecord stores, so that a CRC of data holding CRCs stays well spread:
//   ((crc >> 15) | (crc << 17)) + 0xA282EAD8   (mod 2^32)
uint32_t masked_crc32c(std::string_view bytes);

}  // namespace flowmatch
