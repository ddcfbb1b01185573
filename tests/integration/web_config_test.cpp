// --web.config.file end to end: the real exporter with basic auth, HTTPS and client certificates
// from the shipped example and tests/testdata/webconfig/, asked by real HTTP(S) clients. Every
// endpoint, the health endpoints included, follows the same rules.
#include <doctest/doctest.h>
#include <httplib.h>

#include <string>

#include "integration/harness.h"

namespace {

const std::string kSource = CREATIFY_SOURCE_DIR;
const std::string kTls = kSource + "/tests/testdata/tls/";
const char* const kPaths[] = {"/metrics", "/", "/-/healthy", "/-/ready"};

// An API that refuses connections: the first poll fails at once, so /-/ready turns 200 soon.
constexpr char kConfig[] = "api:\n  base_url: http://127.0.0.1:1\npoll_interval: 1h\n";

std::multimap<std::string, std::string> Auth(const std::string& user, const std::string& password) {
  return {httplib::make_basic_authentication_header(user, password)};
}

// The shipped example's user and password.
std::multimap<std::string, std::string> RightAuth() {
  return Auth("prometheus", "example-password");
}

e2e::Exporter StartExporter(const testsupport::TempDir& dir, const std::string& web_config) {
  return e2e::Exporter(dir, kConfig, {"--web.config.file=" + web_config});
}

}  // namespace

TEST_CASE("basic auth: only the right user and password get an answer, on every endpoint") {
  testsupport::TempDir dir;
  auto exporter = StartExporter(dir, kSource + "/config/web-config.example.yaml");
  CHECK(exporter.process->Log().find("basic_auth=true") != std::string::npos);

  // Ready once the first (failed) poll was attempted.
  REQUIRE(testsupport::WaitFor(
      [&] { return testsupport::HttpGet(exporter.port, "/-/ready", RightAuth()).status == 200; },
      std::chrono::seconds(20)));
  for (const char* path : kPaths) {
    CAPTURE(path);
    auto none = testsupport::HttpGet(exporter.port, path);
    CHECK(none.status == 401);
    CHECK(none.Header("WWW-Authenticate") == "Basic realm=\"creatify-exporter\"");
    CHECK(testsupport::HttpGet(exporter.port, path, Auth("prometheus", "wrong")).status == 401);
    CHECK(testsupport::HttpGet(exporter.port, path, Auth("nobody", "example-password")).status ==
          401);
    CHECK(testsupport::HttpGet(exporter.port, path, {{"Authorization", "Basic !!!"}}).status ==
          401);
    CHECK(testsupport::HttpGet(exporter.port, path, {{"Authorization", "Bearer example-password"}})
              .status == 401);
    auto right = testsupport::HttpGet(exporter.port, path, RightAuth());
    CHECK(right.status == 200);
    CHECK(right.Header("WWW-Authenticate").empty());
  }
  auto metrics = testsupport::HttpGet(exporter.port, "/metrics", RightAuth());
  CHECK(metrics.body.find("\ncreatify_up 0\n") != std::string::npos);
  // A refusal says nothing of the users.
  auto refused = testsupport::HttpGet(exporter.port, "/metrics", Auth("prometheus", "wrong"));
  CHECK(refused.body.find("prometheus") == std::string::npos);
  CHECK(refused.body.find("$2y$") == std::string::npos);
}

TEST_CASE("HTTPS: plain HTTP is refused, HTTPS answers, basic auth still applies") {
  testsupport::TempDir dir;
  auto exporter = StartExporter(dir, kSource + "/tests/testdata/webconfig/tls.yaml");
  CHECK(exporter.process->Log().find("tls=true") != std::string::npos);
  const testsupport::TlsClient client{.ca_file = kTls + "ca.crt"};

  for (const char* path : kPaths) {
    CAPTURE(path);
    // No HTTP answer over plain TCP, with or without credentials.
    auto plain = testsupport::HttpGet(exporter.port, path, RightAuth());
    CHECK(plain.status != 200);
    CHECK(plain.status != 401);
    CHECK(testsupport::HttpsGet(exporter.port, path, client).status == 401);
    CHECK(testsupport::HttpsGet(exporter.port, path, client, Auth("prometheus", "wrong")).status ==
          401);
  }
  CHECK(testsupport::HttpsGet(exporter.port, "/-/healthy", client, RightAuth()).status == 200);
  auto metrics = testsupport::HttpsGet(exporter.port, "/metrics", client, RightAuth());
  CHECK(metrics.status == 200);
  CHECK(metrics.body.find("\ncreatify_up ") != std::string::npos);

  // A client that does not trust the test CA refuses the server's certificate.
  const testsupport::TlsClient other_ca{.ca_file = kTls + "other-client.crt"};
  CHECK(testsupport::HttpsGet(exporter.port, "/-/healthy", other_ca, RightAuth()).status == 0);
  // The exporter still serves after all of these.
  CHECK(testsupport::HttpsGet(exporter.port, "/-/healthy", client, RightAuth()).status == 200);
}

TEST_CASE("mTLS: only a client certificate signed by the client CA gets an answer") {
  testsupport::TempDir dir;
  auto exporter = StartExporter(dir, kSource + "/tests/testdata/webconfig/mtls.yaml");
  const testsupport::TlsClient no_cert{.ca_file = kTls + "ca.crt"};
  const testsupport::TlsClient stranger{.ca_file = kTls + "ca.crt",
                                        .cert_file = kTls + "other-client.crt",
                                        .key_file = kTls + "other-client.key"};
  const testsupport::TlsClient scraper{.ca_file = kTls + "ca.crt",
                                       .cert_file = kTls + "client.crt",
                                       .key_file = kTls + "client.key"};
  for (const char* path : kPaths) {
    CAPTURE(path);
    CHECK(testsupport::HttpsGet(exporter.port, path, no_cert).status == 0);
    CHECK(testsupport::HttpsGet(exporter.port, path, stranger).status == 0);
    CHECK(testsupport::HttpGet(exporter.port, path).status != 200);
  }
  CHECK(testsupport::HttpsGet(exporter.port, "/-/healthy", scraper).status == 200);
  auto metrics = testsupport::HttpsGet(exporter.port, "/metrics", scraper);
  CHECK(metrics.status == 200);
  CHECK(metrics.body.find("\ncreatify_up ") != std::string::npos);
}

TEST_CASE("TLS files that cannot be used stop the exporter with one line naming the web config") {
  testsupport::TempDir dir;
  // Readable, so the web config loads, but a key where the certificate belongs.
  testsupport::WriteFile(dir.File("web.yml"), "tls_server_config:\n  cert_file: " + kTls +
                                                  "server.key\n  key_file: " + kTls +
                                                  "server.key\n");
  testsupport::WriteFile(dir.File("exporter.yaml"),
                         std::string(kConfig) + "state:\n  path: \"\"\n");
  std::string output;
  const int status = testsupport::RunCommand(
      "env CREATIFY_API_ID=id CREATIFY_API_KEY=key " + e2e::Binary("creatify-exporter") +
          " --config.file=" + dir.File("exporter.yaml") +
          " --web.listen-address=127.0.0.1:0 --web.config.file=" + dir.File("web.yml"),
      &output);
  CHECK(status == 1);
  CHECK(output.rfind("creatify-exporter: " + dir.File("web.yml") + ": ", 0) == 0);
  CHECK(output.find(kTls + "server.key") != std::string::npos);
  CHECK(std::count(output.begin(), output.end(), '\n') == 1);
  CHECK(output.find("BEGIN") == std::string::npos);
}

TEST_CASE("basic auth leaves the webhook receiver to its token: Creatify sends no password") {
  testsupport::TempDir dir;
  e2e::Exporter exporter(
      dir,
      std::string(kConfig) + "ads_clone: {}\nwebhook:\n  token: web-config-webhook-token-0123\n",
      {"--web.config.file=" + kSource + "/config/web-config.example.yaml"});
  httplib::Client client("127.0.0.1", exporter.port);
  auto accepted = client.Post("/webhook/ads_clone/web-config-webhook-token-0123",
                              R"({"id":"job-1"})", "application/json");
  REQUIRE(accepted);
  CHECK(accepted->status == 202);
  auto wrong_token = client.Post("/webhook/ads_clone/another-token-0123456789", R"({"id":"job-1"})",
                                 "application/json");
  REQUIRE(wrong_token);
  CHECK(wrong_token->status == 401);
  // Everything else still needs the password, /-/reload included.
  CHECK(testsupport::HttpPost(exporter.port, "/-/reload").status == 401);
  CHECK(testsupport::HttpGet(exporter.port, "/metrics").status == 401);
  const httplib::Headers right = {
      httplib::make_basic_authentication_header("prometheus", "example-password")};
  auto reloaded = client.Post("/-/reload", right, "", "text/plain");
  REQUIRE(reloaded);
  CHECK(reloaded->status == 200);
  auto wrong =
      client.Post("/-/reload", {httplib::make_basic_authentication_header("prometheus", "wrong")},
                  "", "text/plain");
  REQUIRE(wrong);
  CHECK(wrong->status == 401);
}
