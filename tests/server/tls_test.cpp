// The server over TLS: handshakes, plain HTTP on a TLS port, client certificates, bad files.
#include <doctest/doctest.h>
#include <openssl/ssl.h>

#include "server/http_server.h"
#include "server/test_pki.h"
#include "server/test_server.h"
#include "support/process.h"
#include "support/raw_client.h"

namespace {

constexpr char kHealthy[] =
    "GET /-/healthy HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n";

// The test PKI's files in a temporary directory.
struct PkiFiles {
  testpki::Pki pki = testpki::Make();
  testsupport::TempDir dir;
  PkiFiles() {
    testsupport::WriteFile(dir.File("ca.pem"), pki.ca.cert);
    testsupport::WriteFile(dir.File("server.pem"), pki.server.cert);
    testsupport::WriteFile(dir.File("server.key"), pki.server.key);
    testsupport::WriteFile(dir.File("client.key"), pki.client.key);
  }
  server::TlsOptions Options(const std::string& client_auth_type = "") const {
    return {.cert_file = dir.File("server.pem"),
            .key_file = dir.File("server.key"),
            .client_auth_type = client_auth_type,
            .client_ca_file = client_auth_type.empty() ? "" : dir.File("ca.pem")};
  }
};

std::function<void(server::HttpServer&)> WithTls(const server::TlsOptions& options) {
  return [options](server::HttpServer& http) {
    std::string error;
    REQUIRE_MESSAGE(http.EnableTls(options, &error), error);
  };
}

}  // namespace

TEST_CASE("HTTPS: a client that trusts the CA gets its answers") {
  PkiFiles files;
  testserver::TestServer server(256 * 1024, WithTls(files.Options()));
  testpki::TlsOptions client{.trusted_ca = files.pki.ca.cert};
  auto healthy = testpki::Exchange(server.port(), client, kHealthy);
  CHECK(healthy.handshake);
  CHECK(healthy.status == 200);
  CHECK(healthy.received.ends_with("\r\n\r\nHealthy\n"));
  auto metrics = testpki::Exchange(server.port(), client,
                                   "GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  CHECK(metrics.status == 200);
  CHECK(metrics.received.ends_with(*server.metrics));
  // TLS 1.2 is the default minimum, and is accepted.
  client.max_version = TLS1_2_VERSION;
  CHECK(testpki::Exchange(server.port(), client, kHealthy).status == 200);
}

TEST_CASE("HTTPS: plain HTTP on the TLS port gets no HTTP answer") {
  PkiFiles files;
  testserver::TestServer server(1024, WithTls(files.Options()));
  rawclient::Connection plain(server.port());
  REQUIRE(plain.Send(kHealthy));
  std::string received = plain.ReadAll();
  CHECK(received.find("HTTP/") == std::string::npos);
  CHECK(server.get_calls.load() == 0);
  // The server goes on serving TLS.
  CHECK(testpki::Exchange(server.port(), {.trusted_ca = files.pki.ca.cert}, kHealthy).status ==
        200);
}

TEST_CASE("HTTPS: min_version TLS13 refuses a TLS 1.2 client") {
  PkiFiles files;
  auto options = files.Options();
  options.min_version = "TLS13";
  testserver::TestServer server(1024, WithTls(options));
  auto old = testpki::Exchange(
      server.port(), {.trusted_ca = files.pki.ca.cert, .max_version = TLS1_2_VERSION}, kHealthy);
  CHECK_FALSE(old.handshake);
  CHECK(old.status == 0);
  CHECK(testpki::Exchange(server.port(), {.trusted_ca = files.pki.ca.cert}, kHealthy).status ==
        200);
}

TEST_CASE("mTLS: RequireAndVerifyClientCert lets in only clients with a certificate of the CA") {
  PkiFiles files;
  testserver::TestServer server(1024, WithTls(files.Options("RequireAndVerifyClientCert")));
  testpki::TlsOptions client{.trusted_ca = files.pki.ca.cert};
  CHECK(testpki::Exchange(server.port(), client, kHealthy).status == 0);
  client.client = &files.pki.stranger;
  CHECK(testpki::Exchange(server.port(), client, kHealthy).status == 0);
  CHECK(server.get_calls.load() == 0);
  client.client = &files.pki.client;
  CHECK(testpki::Exchange(server.port(), client, kHealthy).status == 200);
}

TEST_CASE("mTLS: VerifyClientCertIfGiven lets in clients without one, not with a stranger's") {
  PkiFiles files;
  testserver::TestServer server(1024, WithTls(files.Options("VerifyClientCertIfGiven")));
  testpki::TlsOptions client{.trusted_ca = files.pki.ca.cert};
  CHECK(testpki::Exchange(server.port(), client, kHealthy).status == 200);
  client.client = &files.pki.stranger;
  CHECK(testpki::Exchange(server.port(), client, kHealthy).status == 0);
  client.client = &files.pki.client;
  CHECK(testpki::Exchange(server.port(), client, kHealthy).status == 200);
}

TEST_CASE("HTTPS and an authorizer: 401 without the right credentials") {
  PkiFiles files;
  testserver::TestServer server(1024, [&](server::HttpServer& http) {
    WithTls(files.Options())(http);
    http.SetAuthorizer(
        [](std::string_view authorization) { return authorization == "Basic b2s="; });
  });
  testpki::TlsOptions client{.trusted_ca = files.pki.ca.cert};
  auto refused = testpki::Exchange(server.port(), client, kHealthy);
  CHECK(refused.status == 401);
  CHECK(refused.received.find("WWW-Authenticate: Basic realm=\"creatify-exporter\"") !=
        std::string::npos);
  auto allowed = testpki::Exchange(server.port(), client,
                                   "GET /-/healthy HTTP/1.1\r\nHost: x\r\nAuthorization: Basic "
                                   "b2s=\r\nConnection: close\r\n\r\n");
  CHECK(allowed.status == 200);
  CHECK(server.get_calls.load() == 1);
}

TEST_CASE("EnableTls says which file or option it cannot use, never a file's contents") {
  PkiFiles files;
  auto enable = [](const server::TlsOptions& options) {
    server::HttpServer http;
    std::string error;
    CHECK_FALSE(http.EnableTls(options, &error));
    return error;
  };
  auto options = files.Options();
  options.cert_file = files.dir.File("missing.pem");
  CHECK(enable(options).starts_with("cannot use the TLS cert_file " + options.cert_file));

  options = files.Options();
  options.key_file = files.dir.File("client.key");
  std::string mismatch = enable(options);
  CHECK(mismatch.find(options.key_file) != std::string::npos);
  CHECK(mismatch.find("PRIVATE KEY") == std::string::npos);

  options = files.Options();
  options.key_file = files.dir.File("server.pem");  // a certificate where the key should be
  std::string not_a_key = enable(options);
  CHECK(not_a_key.starts_with("cannot use the TLS key_file " + options.key_file));
  CHECK(not_a_key.find("BEGIN") == std::string::npos);

  options = files.Options("RequireAndVerifyClientCert");
  options.client_ca_file = files.dir.File("missing-ca.pem");
  CHECK(enable(options).starts_with("cannot use the TLS client_ca_file " + options.client_ca_file));
  options.client_ca_file = "";
  CHECK(enable(options) == "client_auth_type RequireAndVerifyClientCert needs a client_ca_file");
  CHECK(enable(files.Options("Sometimes")).starts_with("unknown client_auth_type \"Sometimes\""));
  options = files.Options();
  options.min_version = "TLS14";
  CHECK(enable(options).starts_with("unknown TLS min_version \"TLS14\""));
  options.min_version = "TLS13";
  options.max_version = "TLS12";
  CHECK(enable(options) == "TLS max_version TLS12 is below min_version TLS13");
}
