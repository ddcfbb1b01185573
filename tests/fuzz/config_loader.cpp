// libFuzzer target: the config loader (src/config) on any bytes, as the file given with
// --config.file, with both credentials in its environment. It must never crash, hang or touch
// memory it does not own; what it accepts is tested in tests/config.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

#include "config/config.h"
#include "fuzz/memory_file.h"

namespace {

std::optional<std::string> Env(const char* name) {
  return std::string(name) == "CREATIFY_API_ID" ? "fuzz-id" : "fuzz-key";
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string error;
  config::LoadConfig(fuzz::InMemoryFile(data, size), &error, &Env);
  return 0;
}
