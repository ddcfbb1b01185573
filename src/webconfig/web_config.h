// The file given with --web.config.file, in the format of Prometheus' exporter-toolkit, so that
// one file serves this exporter and node_exporter alike: TLS for the server, and the users let in
// with HTTP basic auth. Keys this exporter cannot honour are refused with a message rather than
// ignored, except two that change nothing for a scraper (README, "Who may scrape"). A value type;
// LoadWebConfig is thread-safe.
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace webconfig {

// tls_server_config, when it turns TLS on. Paths are resolved against the web config file's
// folder and were readable when the file was loaded.
struct TlsConfig {
  std::string cert_file;
  std::string key_file;
  // One of NoClientCert, RequestClientCert, RequireAnyClientCert, VerifyClientCertIfGiven,
  // RequireAndVerifyClientCert; the toolkit's older RequireClientCert reads as
  // RequireAnyClientCert.
  std::string client_auth_type = "NoClientCert";
  // Set whenever client_auth_type verifies certificates.
  std::string client_ca_file;
  // TLS10, TLS11, TLS12 or TLS13; min_version defaults to TLS12, max_version to TLS13.
  std::string min_version = "TLS12";
  std::string max_version = "TLS13";
};

struct WebConfig {
  // Unset: plain HTTP. As in exporter-toolkit, TLS is on when tls_server_config names a
  // certificate, a key, a client CA or a client_auth_type.
  std::optional<TlsConfig> tls;
  // basic_auth_users: user name -> bcrypt hash ($2a$, $2b$ or $2y$). Empty: no basic auth.
  std::map<std::string, std::string, std::less<>> users;
};

// The files a web config names (certificate, key, client CA), in that order, those it names only.
std::vector<std::string> NamedFiles(const WebConfig& config);

// Reads and validates the file. nullopt and a one-line *error ("<file>:<line>:<column>: <key
// path>: <what is wrong>") on the first problem. Never throws; a hash never appears in a message.
std::optional<WebConfig> LoadWebConfig(const std::string& path, std::string* error);

}  // namespace webconfig
