// The command line of creatify-simulator: parsing, validation and the --help text. Pure
// functions over plain values; thread-safe.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "log/log.h"
#include "simulator/model.h"
#include "simulator/webhooks.h"

namespace simulator {

struct Flags {
  Options model;
  // --listen-address, split. An empty host in the flag (":18787") means every interface.
  std::string listen_host = "127.0.0.1";
  int listen_port = 18787;
  // Added to every /api/ response.
  Millis latency{0};
  std::string exporter_config_path;
  Millis exporter_poll_interval{5'000};
  // Empty: http://<listen host, or 127.0.0.1 for a wildcard>:<bound port>.
  std::string exporter_base_url;
  // state.path of the written config; unset: the key is left out ("" turns persistence off).
  std::optional<std::string> exporter_state_path;
  // Serve TLS with this certificate chain and key (PEM); both or neither.
  std::string tls_cert_file;
  std::string tls_key_file;
  WebhookOptions webhooks;
  // webhook.token of the written config; empty: no webhook section.
  std::string exporter_webhook_token;
  int threads = 64;
  logging::Level log_level = logging::Level::kInfo;
  logging::Format log_format = logging::Format::kLogfmt;
  bool help = false;
  bool version = false;
};

// Parses the arguments after the program name: "--name=value", "--name value", and "--name" for
// switches. On failure returns nullopt and sets *error to one line naming the flag.
std::optional<Flags> ParseFlags(const std::vector<std::string>& args, std::string* error);

// Every flag with its default.
std::string HelpText();

// "0", or a duration as text::ParseDuration reads it ("1m30s").
std::optional<Millis> ParseDuration(std::string_view text);

// "http://host:port/path" split for an HTTP client; false when the URL is not http://.
bool SplitHttpUrl(const std::string& url, std::string* origin, std::string* path);

// The base URL the exporter should use for a simulator bound to `host`:`port`.
std::string DefaultBaseUrl(std::string_view host, int port);

}  // namespace simulator
