// The web config file: what it enables, where its paths point, which keys it refuses; and every
// file under tests/testdata/webconfig/invalid/ fails with exactly the message in the .error file
// beside it (the text is part of the interface: review changes to it).
#include "webconfig/web_config.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <filesystem>
#include <string>
#include <vector>

#include "config/test_env.h"
#include "webconfig/basic_auth.h"

namespace fs = std::filesystem;

namespace {

const fs::path kTestData = fs::path(CREATIFY_SOURCE_DIR) / "tests/testdata";
const fs::path kInvalidDir = kTestData / "webconfig/invalid";
const fs::path kTlsDir = kTestData / "tls";

constexpr const char* kAliceHash = "$2y$04$AqZvftpFj2kaaJ5.dMiET.cRaTwpuP9vJwzakJbrUer3In83bLn/2";

std::optional<webconfig::WebConfig> Load(const std::string& path, std::string* error) {
  *error = "";
  return webconfig::LoadWebConfig(path, error);
}

}  // namespace

TEST_CASE("an empty web config turns on neither TLS nor basic auth") {
  config_test::TempDir dir;
  std::string error;
  auto config = Load(dir.Write("web.yml", ""), &error);
  REQUIRE_MESSAGE(config, error);
  CHECK_FALSE(config->tls.has_value());
  CHECK(config->users.empty());

  config = Load(dir.Write("web.yml", "tls_server_config:\nbasic_auth_users:\n"), &error);
  REQUIRE_MESSAGE(config, error);
  CHECK_FALSE(config->tls.has_value());
  CHECK(config->users.empty());
}

TEST_CASE("basic_auth_users maps each user to a bcrypt hash") {
  config_test::TempDir dir;
  std::string error;
  auto config = Load(dir.Write("web.yml", std::string("basic_auth_users:\n  alice: ") + kAliceHash +
                                              "\n  \"bob smith\": '" + kAliceHash + "'\n"),
                     &error);
  REQUIRE_MESSAGE(config, error);
  CHECK(config->users.size() == 2);
  CHECK(config->users.at("alice") == kAliceHash);
  CHECK(config->users.at("bob smith") == kAliceHash);
}

TEST_CASE("TLS paths are relative to the web config's folder, not the working directory") {
  config_test::TempDir dir;
  fs::create_directories(dir.path() / "certs");
  for (const char* name : {"server.crt", "server.key", "ca.crt"}) {
    fs::copy_file(kTlsDir / name, dir.path() / "certs" / name);
  }
  std::string error;
  auto config = Load(dir.Write("web.yml",
                               "tls_server_config:\n"
                               "  cert_file: certs/server.crt\n"
                               "  key_file: certs/server.key\n"
                               "  client_ca_file: certs/ca.crt\n"
                               "  client_auth_type: RequireAndVerifyClientCert\n"
                               "  min_version: TLS13\n"
                               "  max_version: TLS13\n"),
                     &error);
  REQUIRE_MESSAGE(config, error);
  REQUIRE(config->tls.has_value());
  CHECK(config->tls->cert_file == (dir.path() / "certs/server.crt").string());
  CHECK(config->tls->key_file == (dir.path() / "certs/server.key").string());
  CHECK(config->tls->client_ca_file == (dir.path() / "certs/ca.crt").string());
  CHECK(config->tls->client_auth_type == "RequireAndVerifyClientCert");
  CHECK(config->tls->min_version == "TLS13");
  CHECK(config->tls->max_version == "TLS13");

  const std::string absolute = (kTlsDir / "server.crt").string();
  config = Load(dir.Write("web.yml", "tls_server_config:\n  cert_file: " + absolute +
                                         "\n  key_file: certs/server.key\n"),
                &error);
  REQUIRE_MESSAGE(config, error);
  CHECK(config->tls->cert_file == absolute);
}

TEST_CASE("TLS takes exporter-toolkit's defaults and names") {
  config_test::TempDir dir;
  const std::string cert = (kTlsDir / "server.crt").string();
  const std::string key = (kTlsDir / "server.key").string();
  const std::string tls =
      "tls_server_config:\n  cert_file: " + cert + "\n  key_file: " + key + "\n";
  std::string error;
  auto config = Load(dir.Write("web.yml", tls), &error);
  REQUIRE_MESSAGE(config, error);
  REQUIRE(config->tls.has_value());
  CHECK(config->tls->client_auth_type == "NoClientCert");
  CHECK(config->tls->client_ca_file.empty());
  CHECK(config->tls->min_version == "TLS12");
  CHECK(config->tls->max_version == "TLS13");

  // The toolkit's older name for RequireAnyClientCert.
  config = Load(dir.Write("web.yml", tls + "  client_auth_type: RequireClientCert\n"), &error);
  REQUIRE_MESSAGE(config, error);
  CHECK(config->tls->client_auth_type == "RequireAnyClientCert");

  // An empty client_auth_type is the default.
  config = Load(dir.Write("web.yml", tls + "  client_auth_type: \"\"\n"), &error);
  REQUIRE_MESSAGE(config, error);
  CHECK(config->tls->client_auth_type == "NoClientCert");
}

TEST_CASE("TLS is on only when a certificate, key, client CA or client auth type is named") {
  config_test::TempDir dir;
  std::string error;
  // As in exporter-toolkit: versions alone leave the server on plain HTTP.
  auto config =
      Load(dir.Write("web.yml", "tls_server_config:\n  min_version: TLS13\n  max_version: TLS13\n"),
           &error);
  REQUIRE_MESSAGE(config, error);
  CHECK_FALSE(config->tls.has_value());
}

TEST_CASE("keys that would change nothing here are read and accepted") {
  config_test::TempDir dir;
  const std::string cert = (kTlsDir / "server.crt").string();
  const std::string key = (kTlsDir / "server.key").string();
  std::string error;
  auto config = Load(
      dir.Write("web.yml", "tls_server_config:\n  cert_file: " + cert + "\n  key_file: " + key +
                               "\n  prefer_server_cipher_suites: false\n"
                               "  cipher_suites: []\n"
                               "  curve_preferences: []\n"
                               "  client_allowed_sans: []\n"
                               "http_server_config:\n"
                               "  http2: false\n"
                               "  headers: {}\n"),
      &error);
  REQUIRE_MESSAGE(config, error);
  CHECK(config->tls.has_value());
}

TEST_CASE("the shipped example web config loads, and its password is the documented one") {
  std::string error;
  auto config =
      Load((fs::path(CREATIFY_SOURCE_DIR) / "config/web-config.example.yaml").string(), &error);
  REQUIRE_MESSAGE(config, error);
  CHECK_FALSE(config->tls.has_value());
  REQUIRE(config->users.count("prometheus") == 1);
  const std::string& hash = config->users.at("prometheus");
  CHECK(webconfig::Crypt("example-password", hash) == hash);
}

TEST_CASE("the end-to-end tests' web configs load, with TLS from the test certificates") {
  std::string error;
  auto tls = Load((kTestData / "webconfig/tls.yaml").string(), &error);
  REQUIRE_MESSAGE(tls, error);
  REQUIRE(tls->tls.has_value());
  CHECK(tls->tls->cert_file == (kTestData / "webconfig/../tls/server.crt").string());
  CHECK(tls->users.size() == 1);
  auto mtls = Load((kTestData / "webconfig/mtls.yaml").string(), &error);
  REQUIRE_MESSAGE(mtls, error);
  REQUIRE(mtls->tls.has_value());
  CHECK(mtls->tls->client_auth_type == "RequireAndVerifyClientCert");
  CHECK(mtls->tls->client_ca_file == (kTestData / "webconfig/../tls/ca.crt").string());
  CHECK(mtls->users.empty());
}

TEST_CASE("every invalid web config fails with exactly its expected message") {
  const std::vector<fs::path> cases = config_test::YamlFiles(kInvalidDir);
  REQUIRE(cases.size() >= 25);
  for (const fs::path& yaml : cases) {
    CAPTURE(yaml.filename().string());
    const std::string expected = config_test::ExpectedError(yaml);
    std::string error;
    auto config = Load(yaml.string(), &error);
    CHECK_FALSE(config.has_value());
    CHECK(error == expected);
    CHECK(error.find('\n') == std::string::npos);
    // A password written where its hash belongs is never echoed.
    CHECK(error.find("hunter2") == std::string::npos);
  }
}

TEST_CASE("a ',' where a document belongs is an error, not an endless parse") {
  // yaml-cpp 0.7 alone makes empty documents from it forever; found by tests/fuzz/web_config.
  config_test::TempDir dir;
  std::string error;
  for (const char* text : {",", "a: b\n---\n,\n", "\"x\" ,", ",h\ntlt\1"}) {
    CAPTURE(text);
    const std::string path = dir.Write("web.yml", text);
    CHECK_FALSE(Load(path, &error));
    CHECK(error == path +
                       ": not YAML that can be read (more than 100 documents, or a ',' outside [ ] "
                       "or { })");
  }
}

TEST_CASE("a missing or unreadable web config file is named in the message") {
  std::string error;
  CHECK_FALSE(Load("/nonexistent/web.yml", &error));
  CHECK(error == "/nonexistent/web.yml: cannot read: No such file or directory");
  config_test::TempDir dir;
  CHECK_FALSE(Load(dir.path().string(), &error));
  CHECK(error == dir.path().string() + ": cannot read: Is a directory");
}
