#include "creatify/base_url.h"

#include "text/strings.h"

namespace creatify {
namespace {

bool IsHostChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '_' || c == '.';
}

}  // namespace

std::string ParseBaseUrl(std::string_view url, BaseUrl* out) {
  for (char c : url) {
    if (text::IsControl(c) || c == ' ') return "must not contain spaces or control characters";
  }
  auto sep = url.find("://");
  if (sep == std::string_view::npos) return "expected http:// or https:// followed by a host";
  std::string scheme = text::Lower(url.substr(0, sep));
  if (scheme != "http" && scheme != "https") return "the scheme must be http or https";
  std::string_view rest = url.substr(sep + 3);
  if (rest.find_first_of("?#") != std::string_view::npos) {
    return "must not have a query (?) or a fragment (#)";
  }
  auto slash = rest.find('/');
  std::string_view authority = rest.substr(0, slash);
  std::string_view path = slash == std::string_view::npos ? "" : rest.substr(slash);
  if (authority.find('@') != std::string_view::npos) {
    // Credentials go in headers; a user:password in the URL would be sent nowhere and logged.
    return "must not contain a user name or password (credentials come from CREATIFY_API_ID and "
           "CREATIFY_API_KEY or api.api_id_file and api.api_key_file)";
  }
  std::string_view host;
  std::string_view port;
  if (!authority.empty() && authority[0] == '[') {
    auto close = authority.find(']');
    if (close == std::string_view::npos) return "unclosed \"[\" in the host";
    host = authority.substr(1, close - 1);
    std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after[0] != ':') return "unexpected text after the IPv6 address";
      port = after.substr(1);
      if (port.empty()) return "empty port";
    }
    if (host.empty() || host.find_first_not_of("0123456789abcdefABCDEF:.") != host.npos) {
      return "invalid IPv6 address in the host";
    }
  } else {
    auto colon = authority.find(':');
    host = authority.substr(0, colon);
    if (colon != std::string_view::npos) {
      port = authority.substr(colon + 1);
      if (port.empty()) return "empty port";
    }
    if (host.empty()) return "no host";
    for (char c : host) {
      if (!IsHostChar(c)) return "invalid character in the host";
    }
  }
  if (!port.empty()) {
    if (port.size() > 5 || !text::AllDigits(port)) return "invalid port";
    int number = std::stoi(std::string(port));
    if (number < 1 || number > 65535) return "the port must be from 1 to 65535";
  }
  while (!path.empty() && path.back() == '/') path.remove_suffix(1);
  out->scheme_host_port = scheme + "://" + std::string(authority);
  out->path_prefix = std::string(path);
  return "";
}

}  // namespace creatify
