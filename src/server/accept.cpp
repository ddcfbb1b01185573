#include "server/accept.h"

#include <charconv>
#include <cstddef>

namespace server {
namespace {

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool EqualsNoCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
    if (x != y) return false;
  }
  return true;
}

// RFC 9110's qvalue: 0, 1, 0.x{1,3} or 1.0{0,3}; -1 when it is not one.
double ParseQ(std::string_view text) {
  text = Trim(text);
  if (text.empty() || text.size() > 5) return -1;
  if (text[0] != '0' && text[0] != '1') return -1;
  if (text.size() > 1) {
    if (text[1] != '.') return -1;
    for (size_t i = 2; i < text.size(); ++i) {
      if (text[i] < '0' || text[i] > '9' || (text[0] == '1' && text[i] != '0')) return -1;
    }
  }
  double q = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), q);
  if (ec != std::errc() || end != text.data() + text.size()) return -1;
  return q;
}

struct Offer {
  std::string_view type;
  std::string_view subtype;
  std::string_view version;
};

constexpr Offer kOpenMetrics{"application", "openmetrics-text", "1.0.0"};
constexpr Offer kText{"text", "plain", "0.0.4"};

struct Weight {
  // 0: no range matched; 1: */*; 2: type/*; 3: type/subtype; 4: with the offer's version.
  int specificity = 0;
  double q = 0;
};

// Weighs `offer` by one media range, keeping the most specific match (the first of equals).
void Weigh(std::string_view range, const Offer& offer, Weight* weight) {
  const size_t semicolon = range.find(';');
  const std::string_view media = Trim(range.substr(0, semicolon));
  const size_t slash = media.find('/');
  if (slash == std::string_view::npos) return;
  const std::string_view type = media.substr(0, slash);
  const std::string_view subtype = media.substr(slash + 1);
  double q = 1;
  std::string_view version;
  bool has_version = false;
  std::string_view params =
      semicolon == std::string_view::npos ? std::string_view() : range.substr(semicolon + 1);
  while (!params.empty()) {
    const size_t next = params.find(';');
    const std::string_view param = Trim(params.substr(0, next));
    params = next == std::string_view::npos ? std::string_view() : params.substr(next + 1);
    const size_t eq = param.find('=');
    if (eq == std::string_view::npos) continue;
    const std::string_view name = Trim(param.substr(0, eq));
    std::string_view value = Trim(param.substr(eq + 1));
    if (value.size() >= 2 && value.front() == '"' && value.back() == '"') {
      value = value.substr(1, value.size() - 2);
    }
    if (EqualsNoCase(name, "q")) {
      q = ParseQ(value);
      if (q < 0) q = 0;
    } else if (EqualsNoCase(name, "version")) {
      version = value;
      has_version = true;
    }
  }
  int specificity = 0;
  if (type == "*" && subtype == "*") {
    specificity = 1;
  } else if (EqualsNoCase(type, offer.type) && subtype == "*") {
    specificity = 2;
  } else if (EqualsNoCase(type, offer.type) && EqualsNoCase(subtype, offer.subtype)) {
    if (has_version && version != offer.version) return;
    specificity = has_version ? 4 : 3;
  } else {
    return;
  }
  if (specificity > weight->specificity) *weight = Weight{specificity, q};
}

}  // namespace

bool PrefersOpenMetrics(std::string_view accept) {
  Weight open_metrics, text;
  while (!accept.empty()) {
    // A comma inside a quoted parameter value is not a separator.
    size_t end = 0;
    bool quoted = false;
    for (; end < accept.size(); ++end) {
      if (accept[end] == '"') quoted = !quoted;
      if (accept[end] == ',' && !quoted) break;
    }
    const std::string_view range = Trim(accept.substr(0, end));
    accept = end < accept.size() ? accept.substr(end + 1) : std::string_view();
    if (range.empty()) continue;
    Weigh(range, kOpenMetrics, &open_metrics);
    Weigh(range, kText, &text);
  }
  return open_metrics.q > 0 && open_metrics.q > text.q;
}

}  // namespace server
