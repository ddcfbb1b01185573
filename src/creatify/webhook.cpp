#include "creatify/webhook.h"

#include <nlohmann/json.hpp>

namespace creatify {

std::optional<std::string> ParseWebhookBody(std::string_view body, std::string* error) {
  using json = nlohmann::json;
  // A webhook body is a flat object: anything nested deeper than this is refused before it can
  // cost a deep recursion.
  constexpr int kMaxDepth = 16;
  bool too_deep = false;
  json::parser_callback_t limit = [&](int depth, json::parse_event_t event, json&) {
    if ((event == json::parse_event_t::object_start || event == json::parse_event_t::array_start) &&
        depth >= kMaxDepth) {
      too_deep = true;
    }
    return !too_deep;
  };
  json doc = json::parse(body.begin(), body.end(), limit, /*allow_exceptions=*/false);
  if (too_deep) {
    *error = "nested too deeply";
    return std::nullopt;
  }
  if (doc.is_discarded()) {
    *error = "not JSON";
    return std::nullopt;
  }
  if (!doc.is_object()) {
    *error = std::string("expected an object, got ") + doc.type_name();
    return std::nullopt;
  }
  auto id = doc.find("id");
  if (id == doc.end() || !id->is_string()) {
    *error = "no string \"id\"";
    return std::nullopt;
  }
  const std::string& text = id->get_ref<const std::string&>();
  bool valid = !text.empty() && text.size() <= kMaxWebhookIdLength;
  for (char c : text) {
    valid = valid && ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                      c == '-' || c == '_');
  }
  if (!valid) {
    *error = "\"id\" is not a job id";
    return std::nullopt;
  }
  return text;
}

}  // namespace creatify
