#include "flowmatch/io/gzip.h"

#include <zlib.h>

#include <algorithm>
#include <climits>

#include "flowmatch/core/error.h"

namespace flowmatch {

bool is_gzip(const std::string& bytes) {
  return bytes.size() >= 2 && uint8_t(bytes[0]) == 0x1f && uint8_t(bytes[1]) == 0x8b;
}

std::string gunzip(const std::string& compressed, std::size_t max_bytes, const std::string& name) {
  if (compressed.size() > UINT_MAX) throw Error(name + ": gzip file over 4 GiB");
  z_stream stream{};
  // windowBits 15 + 16: a gzip wrapper, not a bare zlib stream.
  if (inflateInit2(&stream, 15 + 16) != Z_OK) throw Error(name + ": cannot start gzip decompression");
  stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(compressed.data()));
  stream.avail_in = static_cast<uInt>(compressed.size());
  std::string out;
  constexpr std::size_t kChunk = std::size_t(1) << 20;
  int status = Z_OK;
  while (status != Z_STREAM_END && out.size() < max_bytes) {
    std::size_t before = out.size();
    out.resize(std::min(max_bytes, before + kChunk));
    stream.next_out = reinterpret_cast<Bytef*>(out.data() + before);
    stream.avail_out = static_cast<uInt>(out.size() - before);
    status = inflate(&stream, Z_NO_FLUSH);
    out.resize(out.size() - stream.avail_out);
    if (status == Z_STREAM_END || status == Z_OK) continue;
    std::string why = status == Z_BUF_ERROR ? "the stream ends early (truncated file)"
                      : stream.msg          ? stream.msg
                                            : "error " + std::to_string(status);
    inflateEnd(&stream);
    throw Error(name + ": corrupt gzip data: " + why);
  }
  inflateEnd(&stream);
  return out;
}

}  // namespace flowmatch
