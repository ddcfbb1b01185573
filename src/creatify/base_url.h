// The API's base URL: which URLs the config accepts for api.base_url and how the client splits
// them. One check for both, so that the config never accepts a URL the client would refuse on
// every request. Pure functions; thread-safe.
#pragma once

#include <string>
#include <string_view>

namespace creatify {

struct BaseUrl {
  // "https://api.creatify.ai" or "http://host:port": lower-case scheme, the authority as given.
  std::string scheme_host_port;
  // "" or a path prefix such as "/creatify", never ending in '/'.
  std::string path_prefix;

  // scheme_host_port + path_prefix: the form the config keeps.
  std::string Normalized() const { return scheme_host_port + path_prefix; }
};

// Why `url` cannot be a base URL ("the scheme must be http or https", ...), or an empty string
// when it can, and then *out holds its parts. A base URL is http or https, a host (a name, an
// IPv4 address or an IPv6 address in brackets), an optional port from 1 to 65535 and an
// optional path prefix; no user information, query, fragment, spaces or control characters. The
// reasons are written to follow "invalid URL: " in a config error, and never repeat the URL.
std::string ParseBaseUrl(std::string_view url, BaseUrl* out);

}  // namespace creatify
