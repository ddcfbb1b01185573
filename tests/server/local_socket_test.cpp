// The health socket (HttpServer::BindLocal, server::ListenLocal): only the health endpoints, in
// plain HTTP and without credentials while TCP asks for TLS, a client certificate and a password;
// its socket file replaced when stale, refused when live or not a socket, removed at the end.
#include "server/local_socket.h"

#include <doctest/doctest.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <string>

#include "server/http_server.h"
#include "server/test_pki.h"
#include "server/test_server.h"
#include "support/process.h"

namespace {

// A connected Unix socket, or -1.
int ConnectLocal(const std::string& path) {
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  std::memcpy(address.sun_path, path.data(), path.size());
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (connect(fd, reinterpret_cast<const sockaddr*>(&address), sizeof(address)) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

// Sends `request` on the socket at `path` and reads until the server closes (at most 5 s).
std::string ExchangeLocal(const std::string& path, const std::string& request) {
  int fd = ConnectLocal(path);
  if (fd < 0) return "";
  send(fd, request.data(), request.size(), MSG_NOSIGNAL);
  std::string received;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (std::chrono::steady_clock::now() < deadline) {
    pollfd entry{.fd = fd, .events = POLLIN, .revents = 0};
    if (poll(&entry, 1, 100) <= 0) continue;
    char buffer[4096];
    ssize_t got = recv(fd, buffer, sizeof(buffer), 0);
    if (got <= 0) break;
    received.append(buffer, static_cast<size_t>(got));
  }
  close(fd);
  return received;
}

std::string Get(const std::string& path, const std::string& target,
                const std::string& method = "GET") {
  return ExchangeLocal(
      path, method + " " + target + " HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
}

int Status(const std::string& answer) {
  return answer.rfind("HTTP/1.1 ", 0) == 0 ? std::stoi(answer.substr(9, 3)) : 0;
}

bool Exists(const std::string& path) {
  struct stat info {};
  return lstat(path.c_str(), &info) == 0;
}

}  // namespace

TEST_CASE("health socket: only the health endpoints, without TLS or credentials") {
  testpki::Pki pki = testpki::Make();
  testsupport::TempDir dir;
  testsupport::WriteFile(dir.File("ca.pem"), pki.ca.cert);
  testsupport::WriteFile(dir.File("server.pem"), pki.server.cert);
  testsupport::WriteFile(dir.File("server.key"), pki.server.key);
  const std::string socket_path = dir.File("health.sock");
  std::atomic<int> checks{0};
  {
    testserver::TestServer server(4096, [&](server::HttpServer& http) {
      http.Get("/-/ready",
               [](const server::Request&) { return server::Response{.body = "Ready\n"}; });
      std::string error;
      REQUIRE_MESSAGE(http.EnableTls({.cert_file = dir.File("server.pem"),
                                      .key_file = dir.File("server.key"),
                                      .client_auth_type = "RequireAndVerifyClientCert",
                                      .client_ca_file = dir.File("ca.pem")},
                                     &error),
                      error);
      http.SetAuthorizer(server::Authorizer{.recall = [&](std::string_view) -> std::optional<bool> {
                                              ++checks;
                                              return false;
                                            },
                                            .check =
                                                [&](std::string_view) {
                                                  ++checks;
                                                  return false;
                                                }});
      REQUIRE_MESSAGE(http.BindLocal(socket_path, {"/-/healthy", "/-/ready"}, &error), error);
    });

    struct stat info {};
    REQUIRE(lstat(socket_path.c_str(), &info) == 0);
    CHECK(S_ISSOCK(info.st_mode));
    CHECK((info.st_mode & 07777) == 0660);

    std::string healthy = Get(socket_path, "/-/healthy");
    CHECK(Status(healthy) == 200);
    CHECK(healthy.ends_with("\r\n\r\nHealthy\n"));
    std::string ready = Get(socket_path, "/-/ready");
    CHECK(Status(ready) == 200);
    CHECK(ready.ends_with("\r\n\r\nReady\n"));
    std::string head = Get(socket_path, "/-/healthy", "HEAD");
    CHECK(Status(head) == 200);
    CHECK(head.ends_with("\r\n\r\n"));
    for (const char* other : {"/metrics", "/boom", "/", "/-/reload", "/hooks/x"}) {
      CAPTURE(other);
      CHECK(Status(Get(socket_path, other)) == 404);
    }
    CHECK(Status(Get(socket_path, "/-/reload", "POST")) == 404);
    CHECK(server.Posts().empty());
    CHECK(checks.load() == 0);

    // TCP still asks for all three: a client certificate of the CA, then a password.
    testpki::TlsOptions anonymous{.trusted_ca = pki.ca.cert};
    CHECK(testpki::Exchange(server.port(), anonymous,
                            "GET /-/healthy HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
              .status == 0);
    testpki::TlsOptions known{.trusted_ca = pki.ca.cert, .client = &pki.client};
    CHECK(testpki::Exchange(server.port(), known,
                            "GET /-/healthy HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
              .status == 401);
    CHECK(checks.load() > 0);
  }
  // Removed when the server stops.
  CHECK_FALSE(Exists(socket_path));
}

TEST_CASE("health socket: a stale socket file is replaced, a live one or another file refused") {
  testsupport::TempDir dir;
  const std::string path = dir.File("health.sock");
  std::string error;

  SUBCASE("stale: bound and closed by an earlier run without removing its file") {
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    std::memcpy(address.sun_path, path.data(), path.size());
    int old = socket(AF_UNIX, SOCK_STREAM, 0);
    REQUIRE(bind(old, reinterpret_cast<const sockaddr*>(&address), sizeof(address)) == 0);
    close(old);
    REQUIRE(Exists(path));
    int fd = server::ListenLocal(path, &error);
    REQUIRE_MESSAGE(fd >= 0, error);
    int client = ConnectLocal(path);
    CHECK(client >= 0);
    if (client >= 0) close(client);
    server::CloseLocal(fd, path);
    CHECK_FALSE(Exists(path));
  }

  SUBCASE("live: another server listens on it") {
    int first = server::ListenLocal(path, &error);
    REQUIRE_MESSAGE(first >= 0, error);
    CHECK(server::ListenLocal(path, &error) == -1);
    CHECK(error == "cannot listen on " + path + ": another process listens on it");
    // The first one still serves its file.
    int client = ConnectLocal(path);
    CHECK(client >= 0);
    if (client >= 0) close(client);
    server::CloseLocal(first, path);
  }

  SUBCASE("a regular file is neither replaced nor touched") {
    testsupport::WriteFile(path, "keep me\n");
    CHECK(server::ListenLocal(path, &error) == -1);
    CHECK(error == "cannot listen on " + path + ": the path exists and is not a socket");
    struct stat info {};
    REQUIRE(lstat(path.c_str(), &info) == 0);
    CHECK(S_ISREG(info.st_mode));
    CHECK(info.st_size == 8);
  }

  SUBCASE("a directory that does not exist, and a path too long for a socket") {
    const std::string missing = dir.File("no/such/dir/health.sock");
    CHECK(server::ListenLocal(missing, &error) == -1);
    CHECK(error == "cannot listen on " + missing + ": No such file or directory");
    const std::string long_path = dir.File(std::string(120, 'x'));
    CHECK(server::ListenLocal(long_path, &error) == -1);
    CHECK(error == "cannot listen on " + long_path + ": a socket path must be 1 to 107 bytes long");
  }

  SUBCASE("BindLocal says the same") {
    testsupport::WriteFile(path, "");
    server::HttpServer http;
    CHECK_FALSE(http.BindLocal(path, {"/-/healthy"}, &error));
    CHECK(error == "cannot listen on " + path + ": the path exists and is not a socket");
  }
}
