#pragma once
#include <string>

namespace flowmatch {

// Base64 (RFC 4648, with '=' padding): every 3 bytes as 4 characters of A-Z a-z 0-9 + /, for
// embedding files in HTML as data: URLs.
std::string base64(const std::string& bytes);

}  // namespace flowmatch
