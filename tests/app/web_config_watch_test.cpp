// The web config watcher against a running server: a changed user list applies to the next
// request, a renewed certificate to the next connection, and a web config that cannot be used
// keeps the last good one in force, is reported by the store's figures and refused only once.
#include "app/web_config_watch.h"

#include <doctest/doctest.h>

#include <filesystem>
#include <thread>

#include "config/test_env.h"
#include "server/http_server.h"
#include "server/test_pki.h"
#include "state/store.h"
#include "support/raw_client.h"
#include "webconfig/web_config.h"

namespace {

using Check = app::WebConfigWatcher::Check;

// Cost 4, so that the tests run fast (made with crypt_gensalt and crypt_r).
constexpr const char* kAliceHash = "$2y$04$AqZvftpFj2kaaJ5.dMiET.cRaTwpuP9vJwzakJbrUer3In83bLn/2";
constexpr const char* kBobHash = "$2b$05$Ifbup0x76y1so7v87//zPOnX.Gn.fsXK/CP0ohyi3Zf2Aen/oImTK";
constexpr const char* kAlice = "Basic YWxpY2U6YWxpY2UtcGFzc3dvcmQ=";  // alice:alice-password
constexpr const char* kBob = "Basic Ym9iOmJvYi1wYXNzd29yZA==";        // bob:bob-password

std::string Users(const std::string& user, const std::string& hash) {
  return "basic_auth_users:\n  " + user + ": \"" + hash + "\"\n";
}

int Status(int port, const std::string& authorization) {
  rawclient::Connection client(port);
  if (!client.Send("GET /-/healthy HTTP/1.1\r\nHost: localhost\r\nAuthorization: " + authorization +
                   "\r\n\r\n")) {
    return 0;
  }
  return client.Read().status;
}

// A server with the web config at `path` in force, as start-up leaves it, and its watcher.
struct Watched {
  std::string path;
  server::HttpServer http;
  state::Store store{{"lipsync"}, 0};
  std::unique_ptr<app::WebConfigWatcher> watcher;
  std::thread thread;

  explicit Watched(std::string web_config_path) : path(std::move(web_config_path)) {
    std::string error;
    auto web_config = webconfig::LoadWebConfig(path, &error);
    REQUIRE_MESSAGE(web_config, error);
    const std::string fingerprint = app::WebConfigFingerprint(path, *web_config);
    app::ServerSecurity security = app::SecurityFor(*web_config);
    http.Get("/-/healthy", [](const server::Request&) { return server::Response{.body = "ok\n"}; });
    if (security.tls) REQUIRE_MESSAGE(http.EnableTls(*security.tls, &error), error);
    http.SetAuthorizer(security.Authorizer());
    REQUIRE_MESSAGE(http.Bind("127.0.0.1", 0, &error), error);
    thread = std::thread([this] { http.Serve(); });
    watcher = std::make_unique<app::WebConfigWatcher>(path, *web_config, fingerprint,
                                                      std::move(security), http, store);
  }
  ~Watched() {
    watcher.reset();
    http.Stop();
    thread.join();
  }
  state::Snapshot::WebConfigReload Figures() {
    store.PublishIfChanged();
    return store.Current()->web_config;
  }
};

}  // namespace

TEST_CASE("a changed user list applies to the next request, and unchanged files load nothing") {
  config_test::TempDir dir;
  const std::string path = dir.Write("web.yml", Users("alice", kAliceHash));
  Watched watched(path);
  const int port = watched.http.port();
  CHECK(Status(port, kAlice) == 200);
  CHECK(Status(port, kBob) == 401);
  CHECK(watched.watcher->CheckNow() == Check::kUnchanged);

  dir.Write("web.yml", Users("bob", kBobHash));
  CHECK(watched.watcher->CheckNow() == Check::kApplied);
  CHECK(Status(port, kBob) == 200);
  CHECK(Status(port, kAlice) == 401);
  CHECK(watched.Figures().watched);
  CHECK(watched.Figures().successful);
  CHECK(watched.watcher->CheckNow() == Check::kUnchanged);
}

TEST_CASE(
    "a web config that becomes invalid keeps the last good one, is refused once, and a fix "
    "applies") {
  config_test::TempDir dir;
  const std::string path = dir.Write("web.yml", Users("alice", kAliceHash));
  Watched watched(path);
  const int port = watched.http.port();

  dir.Write("web.yml", "basic_auth_users: [this is not a map\n");
  CHECK(watched.watcher->CheckNow() == Check::kRefused);
  CHECK_FALSE(watched.Figures().successful);
  // Until its files change, it is not tried (nor logged) again.
  CHECK(watched.watcher->CheckNow() == Check::kUnchanged);
  CHECK(watched.watcher->CheckNow() == Check::kUnchanged);
  CHECK(Status(port, kAlice) == 200);
  CHECK(Status(port, kBob) == 401);

  // Another bad version is another refusal (the files changed).
  dir.Write("web.yml", "tls_server_config: {cert_file: a.pem}\n");
  CHECK(watched.watcher->CheckNow() == Check::kRefused);
  CHECK(Status(port, kAlice) == 200);

  dir.Write("web.yml", Users("bob", kBobHash));
  CHECK(watched.watcher->CheckNow() == Check::kApplied);
  CHECK(watched.Figures().successful);
  CHECK(watched.Figures().last_success > 0);
  CHECK(Status(port, kBob) == 200);
}

TEST_CASE("TLS is switched on by the web config, with files that appear after it names them") {
  config_test::TempDir dir;
  const std::string path = dir.Write("web.yml", Users("alice", kAliceHash));
  Watched watched(path);
  const int port = watched.http.port();
  const std::string cert = (dir.path() / "server.crt").string();
  const std::string key = (dir.path() / "server.key").string();
  dir.Write("web.yml", "tls_server_config:\n  cert_file: " + cert + "\n  key_file: " + key + "\n" +
                           Users("alice", kAliceHash));
  // The files are not there yet: refused, plain HTTP stays.
  CHECK(watched.watcher->CheckNow() == Check::kRefused);
  CHECK(Status(port, kAlice) == 200);
  CHECK(watched.watcher->CheckNow() == Check::kUnchanged);

  // They appear (the config file itself unchanged): tried again, and TLS serves.
  const testpki::Pki pki = testpki::Make();
  dir.Write("server.crt", pki.server.cert);
  dir.Write("server.key", pki.server.key);
  CHECK(watched.watcher->CheckNow() == Check::kApplied);
  const std::string request =
      "GET /-/healthy HTTP/1.1\r\nHost: localhost\r\nAuthorization: " + std::string(kAlice) +
      "\r\nConnection: close\r\n\r\n";
  auto answer = testpki::Exchange(port, {.trusted_ca = pki.ca.cert}, request);
  CHECK(answer.handshake);
  CHECK(answer.status == 200);

  // A renewal (another CA's certificate, written in place): new connections get it.
  const testpki::Pki renewed = testpki::Make();
  dir.Write("server.crt", renewed.server.cert);
  dir.Write("server.key", renewed.server.key);
  CHECK(watched.watcher->CheckNow() == Check::kApplied);
  CHECK_FALSE(testpki::Exchange(port, {.trusted_ca = pki.ca.cert}, request).handshake);
  auto renewed_answer = testpki::Exchange(port, {.trusted_ca = renewed.ca.cert}, request);
  CHECK(renewed_answer.handshake);
  CHECK(renewed_answer.status == 200);

  // A key that does not match the certificate: refused, the renewed pair stays in force.
  dir.Write("server.key", pki.server.key);
  CHECK(watched.watcher->CheckNow() == Check::kRefused);
  CHECK_FALSE(watched.Figures().successful);
  CHECK(testpki::Exchange(port, {.trusted_ca = renewed.ca.cert}, request).status == 200);
}
