// libFuzzer target: the web config loader (src/webconfig) on any bytes, as the file given with
// --web.config.file, then the Authorization header parser on the same bytes. Neither may crash,
// hang or touch memory it does not own; what they accept is tested in tests/webconfig.
#include "webconfig/web_config.h"

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz/memory_file.h"
#include "webconfig/basic_auth.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string error;
  webconfig::LoadWebConfig(fuzz::InMemoryFile(data, size), &error);
  webconfig::ParseBasicAuthorization(std::string_view(reinterpret_cast<const char*>(data), size));
  return 0;
}
