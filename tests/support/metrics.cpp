#include "support/metrics.h"

#include <httplib.h>

#include <sstream>

namespace testsupport {
namespace {

bool Includes(const std::map<std::string, std::string>& labels,
              const std::map<std::string, std::string>& wanted) {
  for (const auto& [key, value] : wanted) {
    auto it = labels.find(key);
    if (it == labels.end() || it->second != value) return false;
  }
  return true;
}

}  // namespace

std::optional<double> Exposition::Value(const std::string& name,
                                        const std::map<std::string, std::string>& labels) const {
  for (const auto& sample : samples) {
    if (sample.name == name && sample.labels == labels) return sample.value;
  }
  return std::nullopt;
}

double Exposition::Sum(const std::string& name,
                       const std::map<std::string, std::string>& labels) const {
  double total = 0;
  for (const auto& sample : samples) {
    if (sample.name == name && Includes(sample.labels, labels)) total += sample.value;
  }
  return total;
}

int Exposition::Count(const std::string& name,
                      const std::map<std::string, std::string>& labels) const {
  int count = 0;
  for (const auto& sample : samples) {
    if (sample.name == name && Includes(sample.labels, labels)) ++count;
  }
  return count;
}

Exposition ParseExposition(const std::string& text) {
  Exposition out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    if (line.rfind("# TYPE ", 0) == 0) {
      std::istringstream fields(line.substr(7));
      std::string name, type;
      fields >> name >> type;
      out.types[name] = type;
      continue;
    }
    if (line[0] == '#') continue;
    Sample sample;
    size_t i = 0;
    while (i < line.size() && line[i] != '{' && line[i] != ' ') ++i;
    sample.name = line.substr(0, i);
    if (i < line.size() && line[i] == '{') {
      ++i;
      while (i < line.size() && line[i] != '}') {
        size_t eq = line.find('=', i);
        std::string key = line.substr(i, eq - i);
        i = eq + 2;  // past ="
        std::string value;
        while (i < line.size() && line[i] != '"') {
          if (line[i] == '\\' && i + 1 < line.size()) {
            ++i;
            value += line[i] == 'n' ? '\n' : line[i];
          } else {
            value += line[i];
          }
          ++i;
        }
        ++i;  // closing quote
        if (i < line.size() && line[i] == ',') ++i;
        sample.labels[key] = value;
      }
      ++i;  // }
    }
    std::string value = line.substr(line.find_first_not_of(' ', i));
    value = value.substr(0, value.find(' '));
    sample.value = std::stod(value);
    out.samples.push_back(std::move(sample));
  }
  return out;
}

std::string HttpResult::Header(const std::string& name) const {
  auto it = headers.find(name);
  return it == headers.end() ? "" : it->second;
}

namespace {

template <typename Client>
HttpResult Get(Client& client, const std::string& path,
               const std::multimap<std::string, std::string>& headers) {
  client.set_connection_timeout(std::chrono::seconds(5));
  client.set_read_timeout(std::chrono::seconds(10));
  client.set_decompress(false);
  httplib::Headers h(headers.begin(), headers.end());
  HttpResult result;
  if (auto res = client.Get(path, h)) {
    result.status = res->status;
    result.body = res->body;
    for (const auto& [k, v] : res->headers) result.headers.emplace(k, v);
  }
  return result;
}

}  // namespace

HttpResult HttpGet(int port, const std::string& path,
                   const std::multimap<std::string, std::string>& headers) {
  return HttpGetFrom("127.0.0.1", port, path, headers);
}

HttpResult HttpGetFrom(const std::string& host, int port, const std::string& path,
                       const std::multimap<std::string, std::string>& headers) {
  httplib::Client client(host, port);
  return Get(client, path, headers);
}

HttpResult HttpsGet(int port, const std::string& path, const TlsClient& tls,
                    const std::multimap<std::string, std::string>& headers) {
  httplib::SSLClient client("127.0.0.1", port, tls.cert_file, tls.key_file);
  client.set_ca_cert_path(tls.ca_file.c_str());
  client.enable_server_certificate_verification(true);
  return Get(client, path, headers);
}

HttpResult HttpPost(int port, const std::string& path, const std::string& body,
                    const std::string& content_type) {
  httplib::Client client("127.0.0.1", port);
  client.set_connection_timeout(std::chrono::seconds(5));
  HttpResult result;
  if (auto res = client.Post(path, body, content_type.c_str())) {
    result.status = res->status;
    result.body = res->body;
  }
  return result;
}

}  // namespace testsupport
