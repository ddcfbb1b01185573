// Decompresses a gzip body (tests).
#pragma once

#include <zlib.h>

#include <string>
#include <string_view>

namespace testsupport {

// The decompressed text, or "<gunzip failed>".
inline std::string Gunzip(std::string_view gz) {
  z_stream stream{};
  if (inflateInit2(&stream, 15 + 16) != Z_OK) return "<gunzip failed>";
  stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(gz.data()));
  stream.avail_in = static_cast<uInt>(gz.size());
  std::string out;
  char buffer[65536];
  int rc = Z_OK;
  while (rc == Z_OK) {
    stream.next_out = reinterpret_cast<Bytef*>(buffer);
    stream.avail_out = sizeof(buffer);
    rc = inflate(&stream, Z_NO_FLUSH);
    out.append(buffer, sizeof(buffer) - stream.avail_out);
  }
  inflateEnd(&stream);
  return rc == Z_STREAM_END ? out : "<gunzip failed>";
}

}  // namespace testsupport
