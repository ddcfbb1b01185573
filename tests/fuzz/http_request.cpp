// libFuzzer target: the HTTP request parser (src/server/request_parser) on any byte stream, read
// as the connection reads it and held to Boost.Beast's request parser through the differential
// harness (tests/support/http_stream.h): the same requests served, with the differences that
// harness allows and nothing else, and the same verdicts however the stream is split. A
// disagreement aborts, with both sides' verdicts and the stream.
//
// Input: the first byte's low 3 bits say how many split offsets follow (two bytes each, little
// endian); the rest is the stream. A stream up to kTrickle bytes is also fed a byte at a time.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>
#include <vector>

#include "support/http_stream.h"

namespace {

constexpr size_t kTrickle = 512;

void Require(const httpstream::Comparison& comparison, const char* how) {
  if (comparison.mismatch.empty()) return;
  std::fprintf(stderr, "%s: %s\n", how, comparison.mismatch.c_str());
  std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  size_t count = data[0] & 7;
  size_t at = 1;
  std::vector<size_t> splits;
  for (size_t i = 0; i < count && at + 2 <= size; ++i, at += 2) {
    splits.push_back(data[at] | (static_cast<size_t>(data[at + 1]) << 8));
  }
  const std::string_view stream(reinterpret_cast<const char*>(data) + at, size - at);
  std::sort(splits.begin(), splits.end());
  Require(httpstream::Check(stream, {}), "read whole");
  if (!splits.empty()) Require(httpstream::Check(stream, splits), "split at the given offsets");
  if (stream.size() <= kTrickle) {
    std::vector<size_t> every;
    for (size_t offset = 1; offset < stream.size(); ++offset) every.push_back(offset);
    Require(httpstream::Check(stream, every), "a byte at a time");
  }
  return 0;
}
