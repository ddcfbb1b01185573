// Parses the Prometheus text format well enough for assertions in tests.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

namespace testsupport {

struct Sample {
  std::string name;
  std::map<std::string, std::string> labels;
  double value = 0;
};

struct Exposition {
  std::vector<Sample> samples;
  // Family name -> type, from the # TYPE lines.
  std::map<std::string, std::string> types;

  // The sample with exactly these labels.
  std::optional<double> Value(const std::string& name,
                              const std::map<std::string, std::string>& labels = {}) const;
  // The sum of the samples whose labels include these.
  double Sum(const std::string& name, const std::map<std::string, std::string>& labels = {}) const;
  // How many samples of `name` include these labels.
  int Count(const std::string& name, const std::map<std::string, std::string>& labels = {}) const;
};

Exposition ParseExposition(const std::string& text);

struct HttpResult {
  int status = 0;
  std::string body;
  std::multimap<std::string, std::string> headers;
  std::string Header(const std::string& name) const;
};

// GET http://127.0.0.1:port/path; status 0 when nothing answered.
HttpResult HttpGet(int port, const std::string& path,
                   const std::multimap<std::string, std::string>& headers = {});
// The same from another loopback address (127.0.0.2, ...).
HttpResult HttpGetFrom(const std::string& host, int port, const std::string& path,
                       const std::multimap<std::string, std::string>& headers = {});
HttpResult HttpPost(int port, const std::string& path, const std::string& body = "",
                    const std::string& content_type = "text/plain");

// An HTTPS client that trusts `ca_file` (and checks the server's name, 127.0.0.1), presenting
// `cert_file` and `key_file` when they are set.
struct TlsClient {
  std::string ca_file;
  std::string cert_file;
  std::string key_file;
};
// GET https://127.0.0.1:port/path; status 0 when no answer came (a failed handshake included).
HttpResult HttpsGet(int port, const std::string& path, const TlsClient& tls,
                    const std::multimap<std::string, std::string>& headers = {});

}  // namespace testsupport
