#include "webconfig/web_config.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string_view>
#include <vector>

#include "config/yaml_file.h"
#include "config/yaml_reader.h"
#include "text/strings.h"
#include "webconfig/basic_auth.h"

namespace webconfig {
namespace {

using config::Entry;

// Guards against being handed a device or a huge file by mistake.
constexpr std::size_t kMaxWebConfigBytes = 1 << 20;

const std::vector<std::string_view> kClientAuthTypes = {
    "NoClientCert", "RequestClientCert", "RequireAnyClientCert", "VerifyClientCertIfGiven",
    "RequireAndVerifyClientCert"};
// In the order of their strength, so that min_version and max_version can be compared.
const std::vector<std::string_view> kTlsVersions = {"TLS10", "TLS11", "TLS12", "TLS13"};

int VersionRank(std::string_view version) {
  for (std::size_t i = 0; i < kTlsVersions.size(); ++i) {
    if (kTlsVersions[i] == version) return static_cast<int>(i);
  }
  return -1;
}

// What tls_server_config said, with where, until the whole section has been read.
struct TlsSection {
  YAML::Mark mark;
  std::string path;
  TlsConfig tls;
  bool any_set = false;  // a certificate, key, client CA or client_auth_type: TLS is on
  YAML::Mark client_auth_mark;
  YAML::Mark client_ca_mark;
  YAML::Mark max_version_mark;
};

class WebConfigParser : public config::YamlReader {
 public:
  using YamlReader::YamlReader;

  bool Parse(const YAML::Node& root, WebConfig* out) {
    if (!root.IsMap() && !root.IsNull()) {
      return Fail(root.Mark(), "",
                  "expected a map of settings at the top level, got " + config::Describe(root));
    }
    static const std::vector<std::string_view> kKnown = {"tls_server_config", "http_server_config",
                                                         "basic_auth_users", "rate_limit"};
    return ForEach(root, "", [&](const Entry& entry) {
      if (entry.key == "tls_server_config") return ParseTls(entry, out);
      if (entry.key == "http_server_config") return ParseHttp(entry);
      if (entry.key == "basic_auth_users") return ParseUsers(entry, out);
      if (entry.key == "rate_limit") {
        return NotSupported(entry, "limit the rate in front of the exporter, or remove the key");
      }
      return UnknownKey(entry, kKnown);
    });
  }

 private:
  bool ParseTls(const Entry& section, WebConfig* out) {
    if (!ExpectMap(section)) return false;
    TlsSection tls{.mark = section.key_mark, .path = section.path};
    static const std::vector<std::string_view> kKnown = {"cert_file",
                                                         "key_file",
                                                         "client_auth_type",
                                                         "client_ca_file",
                                                         "min_version",
                                                         "max_version",
                                                         "cipher_suites",
                                                         "curve_preferences",
                                                         "client_allowed_sans",
                                                         "prefer_server_cipher_suites",
                                                         "cert",
                                                         "key",
                                                         "client_ca"};
    bool ok = ForEach(section.value, section.path, [&](const Entry& entry) {
      if (entry.key == "cert_file") return ReadReadablePath(entry, &tls.tls.cert_file, &tls);
      if (entry.key == "key_file") return ReadReadablePath(entry, &tls.tls.key_file, &tls);
      if (entry.key == "client_ca_file") {
        tls.client_ca_mark = ValueMark(entry);
        return ReadReadablePath(entry, &tls.tls.client_ca_file, &tls);
      }
      if (entry.key == "client_auth_type") {
        tls.client_auth_mark = ValueMark(entry);
        return ReadClientAuthType(entry, &tls);
      }
      if (entry.key == "min_version") return ReadOneOf(entry, kTlsVersions, &tls.tls.min_version);
      if (entry.key == "max_version") {
        tls.max_version_mark = ValueMark(entry);
        return ReadOneOf(entry, kTlsVersions, &tls.tls.max_version);
      }
      if (entry.key == "cipher_suites" || entry.key == "curve_preferences") {
        return RefuseUnlessEmpty(entry, "the defaults of OpenSSL apply; remove the key");
      }
      if (entry.key == "client_allowed_sans") {
        return RefuseUnlessEmpty(entry,
                                 "client certificates are not matched against names; use a "
                                 "client CA that signs only the allowed clients");
      }
      if (entry.key == "prefer_server_cipher_suites") {
        bool ignored = false;  // without cipher_suites it chooses nothing (README)
        return ReadBool(entry, &ignored);
      }
      if (entry.key == "cert" || entry.key == "key" || entry.key == "client_ca") {
        return NotSupported(entry, "write the PEM to a file and name it in " + entry.key + "_file");
      }
      return UnknownKey(entry, kKnown);
    });
    if (!ok) return false;
    if (!tls.any_set) return true;  // exporter-toolkit's rule: plain HTTP
    return CheckTls(tls, out);
  }

  bool CheckTls(TlsSection& section, WebConfig* out) {
    TlsConfig& tls = section.tls;
    if (tls.cert_file.empty()) return Fail(section.mark, section.path, "missing cert_file");
    if (tls.key_file.empty()) return Fail(section.mark, section.path, "missing key_file");
    const bool verifies = tls.client_auth_type == "VerifyClientCertIfGiven" ||
                          tls.client_auth_type == "RequireAndVerifyClientCert";
    if (verifies && tls.client_ca_file.empty()) {
      return Fail(section.client_auth_mark, section.path + ".client_auth_type",
                  tls.client_auth_type + " needs client_ca_file, the CA that signs the clients");
    }
    if (!tls.client_ca_file.empty() && tls.client_auth_type == "NoClientCert") {
      return Fail(section.client_ca_mark, section.path + ".client_ca_file",
                  "a client CA without client_auth_type checks nothing: set client_auth_type "
                  "to RequireAndVerifyClientCert");
    }
    if (VersionRank(tls.max_version) < VersionRank(tls.min_version)) {
      return Fail(section.max_version_mark, section.path + ".max_version",
                  tls.max_version + " is below min_version " + tls.min_version);
    }
    out->tls = tls;
    return true;
  }

  bool ParseHttp(const Entry& section) {
    if (!ExpectMap(section)) return false;
    static const std::vector<std::string_view> kKnown = {"http2", "headers"};
    return ForEach(section.value, section.path, [&](const Entry& entry) {
      if (entry.key == "http2") {
        bool ignored = false;  // the server speaks HTTP/1.1 (README)
        return ReadBool(entry, &ignored);
      }
      if (entry.key == "headers") {
        return RefuseUnlessEmpty(entry,
                                 "set response headers in a proxy in front, or remove the key");
      }
      return UnknownKey(entry, kKnown);
    });
  }

  bool ParseUsers(const Entry& section, WebConfig* out) {
    if (!section.value.IsMap() && !section.value.IsNull()) {
      return Fail(
          ValueMark(section), section.path,
          "expected a map of user names to bcrypt hashes, got " + config::Describe(section.value));
    }
    return ForEach(section.value, section.path, [&](const Entry& entry) {
      if (entry.key.find(':') != std::string::npos) {
        return Fail(entry.key_mark, entry.path,
                    "a user name cannot hold ':' (basic auth ends the name at the first ':')");
      }
      std::string hash;
      if (!config::IsString(entry.value)) {
        return Fail(ValueMark(entry), entry.path,
                    "expected a bcrypt hash, got " + config::Describe(entry.value));
      }
      hash = entry.value.Scalar();
      if (!IsBcryptHash(hash)) {
        // The value is not quoted back: it may be a password written where its hash belongs.
        return Fail(ValueMark(entry), entry.path,
                    "not a bcrypt hash ($2y$, $2b$ or $2a$, a cost from 04 to 31, then 53 "
                    "characters); make one with htpasswd -nbBC 10 USER PASSWORD");
      }
      out->users.emplace(entry.key, std::move(hash));
      return true;
    });
  }

  bool ReadReadablePath(const Entry& entry, std::string* out, TlsSection* tls) {
    if (!ReadFilePath(entry, out)) return false;
    tls->any_set = true;
    const int fd = ::open(out->c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      return Fail(ValueMark(entry), entry.path,
                  "cannot read " + config::QuotePath(*out) + ": " + std::strerror(errno));
    }
    ::close(fd);
    return true;
  }

  bool ReadClientAuthType(const Entry& entry, TlsSection* tls) {
    std::string value;
    if (!ReadString(entry, &value)) return false;
    if (value.empty()) return true;  // the toolkit's default, and not a reason to turn TLS on
    tls->any_set = true;
    if (value == "RequireClientCert") value = "RequireAnyClientCert";  // the toolkit's old name
    return ReadOneOf(entry, kClientAuthTypes, &tls->tls.client_auth_type, value);
  }

  // `value` when given, else the entry's string, must be one of `allowed`.
  bool ReadOneOf(const Entry& entry, const std::vector<std::string_view>& allowed, std::string* out,
                 std::optional<std::string> value = std::nullopt) {
    if (!value) {
      value.emplace();
      if (!ReadString(entry, &*value)) return false;
    }
    for (std::string_view one : allowed) {
      if (one == *value) {
        *out = *value;
        return true;
      }
    }
    return Fail(ValueMark(entry), entry.path,
                "invalid value " + config::Quote(*value) +
                    " (expected one of: " + text::Join(allowed) + ")");
  }

  bool NotSupported(const Entry& entry, const std::string& instead) {
    return Fail(entry.key_mark, entry.path, "not supported by this exporter: " + instead);
  }

  // A list or map the exporter cannot honour: accepted only when it asks for nothing.
  bool RefuseUnlessEmpty(const Entry& entry, const std::string& instead) {
    const YAML::Node& value = entry.value;
    if (value.IsNull() || ((value.IsSequence() || value.IsMap()) && value.size() == 0)) {
      return true;
    }
    return NotSupported(entry, instead);
  }
};

}  // namespace

std::optional<WebConfig> LoadWebConfig(const std::string& path, std::string* error) {
  std::string ignored;
  if (error == nullptr) error = &ignored;
  std::optional<WebConfig> loaded;
  auto parse = [&](const YAML::Node& root, std::string* parse_error) {
    WebConfigParser parser(path);
    WebConfig config;
    if (!parser.Parse(root, &config)) {
      *parse_error = parser.error();
      return false;
    }
    loaded = std::move(config);
    return true;
  };
  if (!config::ParseYamlFile(path, kMaxWebConfigBytes, parse, error)) return std::nullopt;
  return loaded;
}

std::vector<std::string> NamedFiles(const WebConfig& config) {
  std::vector<std::string> files;
  if (!config.tls) return files;
  for (const std::string* file :
       {&config.tls->cert_file, &config.tls->key_file, &config.tls->client_ca_file}) {
    if (!file->empty()) files.push_back(*file);
  }
  return files;
}

}  // namespace webconfig
