// libFuzzer target: the job JSON parser (src/creatify/parse) on any bytes, read as every kind's
// single-job answer and list, as the credits answer, and as a timestamp. It must never crash, hang
// or touch memory it does not own; what it accepts is tested in tests/creatify.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "creatify/kind.h"
#include "creatify/parse.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view body(reinterpret_cast<const char*>(data), size);
  for (const auto& kind : creatify::BuiltinKinds()) {
    creatify::ParseJobObject(kind, body, "3f2a9c1e-0b7d-4c55-9a62-1d8e5f4b7a10");
    if (kind.list) creatify::ParseJobList(kind, body);
  }
  std::string error;
  creatify::ParseRemainingCredits(body, &error);
  creatify::ParseTimestamp(body);
  return 0;
}
