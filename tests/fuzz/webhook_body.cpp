// libFuzzer target: the webhook body parser (src/creatify/webhook) on any bytes, as the body of a
// POST to the webhook route. It must never crash, hang or touch memory it does not own; what it
// accepts is tested in tests/creatify.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "creatify/webhook.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string error;
  creatify::ParseWebhookBody(std::string_view(reinterpret_cast<const char*>(data), size), &error);
  return 0;
}
