#include "creatify/client.h"

#include <arpa/inet.h>
#include <doctest/doctest.h>
#include <httplib.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <future>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "creatify/base_url.h"
#include "support/black_hole.h"

namespace creatify {
namespace {

using namespace std::chrono_literals;

constexpr std::size_t kLimit = std::size_t{1} << 20;
constexpr char kTooLarge[] = "response body larger than api.max_body_bytes (1048576 bytes)";
constexpr const char* kApiId = "test-id";
constexpr const char* kApiKey = "secret-key-0123456789";

// Polls `condition` until it holds or `timeout` passes.
bool WaitFor(const std::function<bool()>& condition, std::chrono::milliseconds timeout = 5s) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!condition()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(1ms);
  }
  return true;
}

// An httplib::Server on 127.0.0.1 and a port the kernel picked. Register handlers on server()
// before Start(); the destructor stops it, so every test stops its server even on a failed
// REQUIRE.
class TestServer {
 public:
  TestServer() {
    port_ = server_.bind_to_any_port("127.0.0.1");
    REQUIRE(port_ > 0);
  }
  ~TestServer() { Stop(); }

  httplib::Server& server() { return server_; }
  int port() const { return port_; }
  std::string Url(const std::string& path = "") const {
    return "http://127.0.0.1:" + std::to_string(port_) + path;
  }

  void Start() {
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    REQUIRE(WaitFor([this] { return server_.is_running(); }));
  }
  void Stop() {
    server_.stop();
    if (thread_.joinable()) thread_.join();
  }

 private:
  httplib::Server server_;
  int port_ = -1;
  std::thread thread_;
};

// What a handler saw, for the test thread to check after the request returned.
struct Seen {
  std::mutex mu;
  int count = 0;
  std::string path;
  std::string ids;
  httplib::Headers headers;
  std::vector<int> remote_ports;

  void Record(const httplib::Request& req) {
    std::lock_guard lock(mu);
    ++count;
    path = req.path;
    ids = req.get_param_value("ids");
    headers = req.headers;
    remote_ports.push_back(req.remote_port);
  }
  std::string Header(const std::string& name) {
    std::lock_guard lock(mu);
    const auto it = headers.find(name);
    return it == headers.end() ? std::string("<absent>") : it->second;
  }
};

ClientOptions Options(const std::string& base_url,
                      std::chrono::milliseconds timeout = std::chrono::milliseconds(5000)) {
  ClientOptions options;
  options.base_url = base_url;
  options.api_id = kApiId;
  options.api_key = kApiKey;
  options.timeout = timeout;
  options.user_agent = "creatify-exporter/test";
  options.max_body_bytes = kLimit;
  return options;
}

TEST_CASE("200: auth headers arrive and the path prefix is applied") {
  TestServer server;
  Seen seen;
  server.server().Get("/proxy/creatify/api/aurora/",
                      [&](const httplib::Request& req, httplib::Response& res) {
                        seen.Record(req);
                        res.set_content(R"([{"id":"a"}])", "application/json");
                      });
  server.Start();

  Client client(Options(server.Url("/proxy/creatify/")));
  const Response r = client.Get("/api/aurora/?ids=a,b");
  CHECK(r.status == 200);
  CHECK(r.code == "200");
  CHECK(r.body == R"([{"id":"a"}])");
  CHECK(r.error.empty());
  CHECK_FALSE(r.retry_after_seconds.has_value());
  CHECK(r.seconds > 0);
  CHECK(r.seconds < 5);

  CHECK(seen.Header("X-API-ID") == kApiId);
  CHECK(seen.Header("X-API-KEY") == kApiKey);
  CHECK(seen.Header("Accept") == "application/json");
  CHECK(seen.Header("User-Agent") == "creatify-exporter/test");
  std::lock_guard lock(seen.mu);
  CHECK(seen.count == 1);
  CHECK(seen.path == "/proxy/creatify/api/aurora/");
  CHECK(seen.ids == "a,b");
}

TEST_CASE("no prefix: the path goes out as given, and the connection is kept alive") {
  TestServer server;
  Seen seen;
  server.server().Get("/api/remaining_credits/",
                      [&](const httplib::Request& req, httplib::Response& res) {
                        seen.Record(req);
                        res.set_content(R"({"remaining_credits": 10})", "application/json");
                      });
  server.Start();

  Client client(Options(server.Url()));
  CHECK(client.Get("/api/remaining_credits/").code == "200");
  CHECK(client.Get("/api/remaining_credits/").code == "200");
  std::lock_guard lock(seen.mu);
  REQUIRE(seen.remote_ports.size() == 2);
  // Same client port: the second request reused the first connection.
  CHECK(seen.remote_ports[0] == seen.remote_ports[1]);
}

TEST_CASE("HTTP error statuses map to their code, with the body kept") {
  TestServer server;
  server.server().Get("/api/ads_clone/missing/",
                      [](const httplib::Request&, httplib::Response& res) {
                        res.status = 404;
                        res.set_content(R"({"detail": "Not found."})", "application/json");
                      });
  server.server().Get("/api/aurora/", [](const httplib::Request&, httplib::Response& res) {
    res.status = 429;
    res.set_header("Retry-After", "7");
    res.set_content(R"({"detail": "Request was throttled."})", "application/json");
  });
  server.server().Get("/api/boom/", [](const httplib::Request&, httplib::Response& res) {
    res.status = 500;
    res.set_content("<h1>Server Error (500)</h1>", "text/html");
  });
  server.server().Get("/api/busy/", [](const httplib::Request&, httplib::Response& res) {
    res.status = 503;
    res.set_header("Retry-After", "Wed, 21 Oct 2015 07:28:00 GMT");
  });
  server.Start();
  Client client(Options(server.Url()));

  const Response not_found = client.Get("/api/ads_clone/missing/");
  CHECK(not_found.status == 404);
  CHECK(not_found.code == "404");
  CHECK(not_found.body == R"({"detail": "Not found."})");
  CHECK_FALSE(not_found.retry_after_seconds.has_value());

  const Response throttled = client.Get("/api/aurora/");
  CHECK(throttled.status == 429);
  CHECK(throttled.code == "429");
  REQUIRE(throttled.retry_after_seconds.has_value());
  CHECK(*throttled.retry_after_seconds == 7.0);

  const Response boom = client.Get("/api/boom/");
  CHECK(boom.status == 500);
  CHECK(boom.code == "500");
  CHECK(boom.body == "<h1>Server Error (500)</h1>");

  // A date in the past means "now".
  const Response busy = client.Get("/api/busy/");
  CHECK(busy.code == "503");
  REQUIRE(busy.retry_after_seconds.has_value());
  CHECK(*busy.retry_after_seconds == 0.0);
}

TEST_CASE("redirects are not followed") {
  TestServer server;
  Seen elsewhere;
  server.server().Get("/api/aurora/", [&](const httplib::Request&, httplib::Response& res) {
    res.set_redirect(server.Url("/elsewhere/"), 302);
  });
  server.server().Get("/elsewhere/", [&](const httplib::Request& req, httplib::Response& res) {
    elsewhere.Record(req);
    res.set_content("[]", "application/json");
  });
  server.Start();

  Client client(Options(server.Url()));
  const Response r = client.Get("/api/aurora/");
  CHECK(r.status == 302);
  CHECK(r.code == "302");
  std::lock_guard lock(elsewhere.mu);
  CHECK(elsewhere.count == 0);
}

// A TCP socket bound to a kernel-chosen port on 127.0.0.1 but not listening: connecting to it is
// refused, and no other process can take the port while the socket is open.
class ClosedPort {
 public:
  ClosedPort() {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    REQUIRE(fd_ >= 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    REQUIRE(::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
    socklen_t len = sizeof addr;
    REQUIRE(::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len) == 0);
    port_ = ntohs(addr.sin_port);
  }
  ~ClosedPort() { ::close(fd_); }
  int port() const { return port_; }

 private:
  int fd_ = -1;
  int port_ = 0;
};

TEST_CASE("a refused connection gives code connect, without the credentials in the error") {
  ClosedPort closed;
  Client client(Options("http://127.0.0.1:" + std::to_string(closed.port())));
  const Response r = client.Get("/api/aurora/");
  CHECK(r.status == 0);
  CHECK(r.code == "connect");
  CHECK_FALSE(r.error.empty());
  CHECK(r.error.find(kApiKey) == std::string::npos);
  CHECK(r.error.find(kApiId) == std::string::npos);
  CHECK(r.body.empty());
}

// Holds a handler's answer until the test opens it, so that no test sleeps to let a request
// arrive or waits out a slow answer. Thread-safe.
class Gate {
 public:
  // Called by a handler: the request has arrived; returns once Open() was called (or after 10 s,
  // a guard against a test that never opens it).
  void ArriveAndWait() {
    std::unique_lock lock(mu_);
    arrived_ = true;
    cv_.notify_all();
    cv_.wait_for(lock, 10s, [&] { return open_; });
  }
  bool WaitArrived(std::chrono::milliseconds timeout = 5s) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, timeout, [&] { return arrived_; });
  }
  void Open() {
    std::lock_guard lock(mu_);
    open_ = true;
    cv_.notify_all();
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool arrived_ = false;
  bool open_ = false;
};

// Opens the gate when it goes out of scope: declared after the TestServer, it lets the server's
// handler finish before the server is stopped, even when a REQUIRE failed.
struct OpenOnExit {
  Gate& gate;
  ~OpenOnExit() { gate.Open(); }
};

// A handler for /api/aurora/ that answers only once the gate is open.
void ServeHeldAnswer(TestServer& server, Gate& gate) {
  server.server().Get("/api/aurora/", [&](const httplib::Request&, httplib::Response& res) {
    gate.ArriveAndWait();
    res.set_content("[]", "application/json");
  });
  server.Start();
}

TEST_CASE("a handler slower than the client timeout gives code timeout") {
  Gate gate;
  TestServer server;
  OpenOnExit open_on_exit{gate};
  ServeHeldAnswer(server, gate);

  Client client(Options(server.Url(), std::chrono::milliseconds(200)));
  const Response r = client.Get("/api/aurora/");
  gate.Open();
  CHECK(r.status == 0);
  CHECK(r.code == "timeout");
  CHECK_FALSE(r.error.empty());
  CHECK(r.seconds >= 0.2);
  CHECK(r.seconds < 5);
}

// Runs a GET of /api/aurora/ on another thread with a 30 s timeout, calls Cancel once the server
// has the request, and checks that Get returns within 5 s of the Cancel, without an answer.
void CheckCancelEndsGet(const TestServer& server, Gate& gate) {
  Client client(Options(server.Url(), std::chrono::milliseconds(30000)));
  std::future<Response> response =
      std::async(std::launch::async, [&] { return client.Get("/api/aurora/"); });
  REQUIRE(gate.WaitArrived());
  client.Cancel();
  REQUIRE(response.wait_for(5s) == std::future_status::ready);
  const Response r = response.get();
  CHECK(r.status == 0);
  CHECK(r.code != "timeout");
  CHECK(r.seconds < 5);
}

TEST_CASE("Cancel from another thread ends a request the server never answers") {
  Gate gate;
  TestServer server;
  OpenOnExit open_on_exit{gate};
  ServeHeldAnswer(server, gate);
  CheckCancelEndsGet(server, gate);
}

TEST_CASE("Cancel from another thread ends a request whose body comes slowly") {
  Gate gate;
  TestServer server;
  OpenOnExit open_on_exit{gate};
  server.server().Get("/api/aurora/", [&](const httplib::Request&, httplib::Response& res) {
    // The head and a first piece of the body go out; the rest waits for the gate.
    res.set_chunked_content_provider("application/json", [&](size_t, httplib::DataSink& sink) {
      sink.write("[{\"id\":", 7);
      gate.ArriveAndWait();
      sink.done();
      return true;
    });
  });
  server.Start();
  CheckCancelEndsGet(server, gate);
}

using testsupport::BlackHole;

TEST_CASE("a connect that never completes gives code timeout") {
  BlackHole hole;
  Client client(Options("http://127.0.0.1:" + std::to_string(hole.port()), 300ms));
  const Response r = client.Get("/api/aurora/");
  CHECK(r.status == 0);
  CHECK(r.code == "timeout");
  CHECK(r.seconds >= 0.29);
  CHECK(r.seconds < 5);
}

TEST_CASE("Cancel from another thread ends a request that is still connecting") {
  BlackHole hole;
  Client client(Options("http://127.0.0.1:" + std::to_string(hole.port()), 60s));
  std::atomic<bool> started{false};
  std::future<Response> response = std::async(std::launch::async, [&] {
    started = true;
    return client.Get("/api/aurora/");
  });
  REQUIRE(WaitFor([&] { return started.load(); }));
  // Cancel whenever it lands: before the socket exists, or while it connects. Neither may be lost.
  for (int i = 0; i < 3; ++i) {
    client.Cancel();
    if (response.wait_for(100ms) == std::future_status::ready) break;
  }
  REQUIRE(response.wait_for(5s) == std::future_status::ready);
  const Response r = response.get();
  CHECK(r.status == 0);
  CHECK(r.code == "error");
  CHECK(r.error.find("cancelled") != std::string::npos);
  CHECK(r.seconds < 5);
}

TEST_CASE("a Cancel before a request starts is not lost: the request fails at once") {
  BlackHole hole;
  Client client(Options("http://127.0.0.1:" + std::to_string(hole.port()), 60s));
  client.Cancel();
  const Response r = client.Get("/api/aurora/");
  CHECK(r.status == 0);
  CHECK(r.code == "error");
  CHECK(r.seconds < 1);
}

// A one-shot raw TCP server: accepts one connection, reads the request head, writes `reply` and
// closes. For answers httplib::Server will not produce, like a body cut short.
class RawServer {
 public:
  explicit RawServer(std::string reply) : reply_(std::move(reply)) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    REQUIRE(fd_ >= 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
    REQUIRE(::listen(fd_, 1) == 0);
    socklen_t len = sizeof addr;
    REQUIRE(::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len) == 0);
    port_ = ntohs(addr.sin_port);
    thread_ = std::thread([this] { Serve(); });
  }
  ~RawServer() {
    if (thread_.joinable()) thread_.join();
    ::close(fd_);
  }
  int port() const { return port_; }

 private:
  void Serve() {
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, 5000) != 1) return;
    const int conn = ::accept(fd_, nullptr, nullptr);
    if (conn < 0) return;
    std::string request;
    char buf[4096];
    while (request.find("\r\n\r\n") == std::string::npos) {
      pollfd c{conn, POLLIN, 0};
      if (::poll(&c, 1, 5000) != 1) break;
      const ssize_t n = ::recv(conn, buf, sizeof buf, 0);
      if (n <= 0) break;
      request.append(buf, static_cast<std::size_t>(n));
    }
    ::send(conn, reply_.data(), reply_.size(), MSG_NOSIGNAL);
    ::close(conn);
  }

  std::string reply_;
  int fd_ = -1;
  int port_ = 0;
  std::thread thread_;
};

TEST_CASE("a body cut short before the timeout gives code read") {
  RawServer raw(
      "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n[{\"id\"");
  Client client(Options("http://127.0.0.1:" + std::to_string(raw.port())));
  const Response r = client.Get("/api/aurora/");
  CHECK(r.status == 0);
  CHECK(r.code == "read");
  CHECK(r.seconds < 5);
}

TEST_CASE("a body above api.max_body_bytes gives code error") {
  TestServer server;
  server.server().Get("/announced/", [](const httplib::Request&, httplib::Response& res) {
    res.set_content(std::string(kLimit + 1, 'x'), "application/json");
  });
  server.server().Get("/chunked/", [](const httplib::Request&, httplib::Response& res) {
    // No Content-Length: the client only finds out while reading.
    res.set_chunked_content_provider(
        "application/json", [sent = std::size_t{0}](std::size_t, httplib::DataSink& sink) mutable {
          const std::string chunk(1 << 16, 'y');
          if (sent > kLimit + chunk.size()) {
            sink.done();
            return true;
          }
          sent += chunk.size();
          return sink.write(chunk.data(), chunk.size());
        });
  });
  server.server().Get("/exact/", [](const httplib::Request&, httplib::Response& res) {
    res.set_content(std::string(kLimit, 'z'), "application/json");
  });
  server.Start();
  Client client(Options(server.Url()));

  for (const char* path : {"/announced/", "/chunked/"}) {
    CAPTURE(path);
    const Response r = client.Get(path);
    CHECK(r.status == 0);
    CHECK(r.code == "error");
    CHECK(r.error == kTooLarge);
    CHECK(r.body.empty());
  }
  // The limit itself is allowed, and the client recovers after the aborted reads.
  const Response exact = client.Get("/exact/");
  CHECK(exact.code == "200");
  CHECK(exact.body.size() == kLimit);
}

TEST_CASE(
    "an announced Content-Length above api.max_body_bytes is refused before the body is read") {
  // The server sends no body at all: reading it would end in a read error, refusing it on the
  // header gives the size error.
  RawServer raw("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: " +
                std::to_string(kLimit + 1) + "\r\n\r\n");
  Client client(Options("http://127.0.0.1:" + std::to_string(raw.port())));
  const Response r = client.Get("/api/aurora/");
  CHECK(r.status == 0);
  CHECK(r.code == "error");
  CHECK(r.error == kTooLarge);
}

TEST_CASE("an unusable base_url fails every request without throwing") {
  for (const char* url :
       {"", "api.creatify.ai", "ftp://api.creatify.ai", "http://", "http://user:pw@api.creatify.ai",
        "http://host:99999", "http://host:0", "http://host:", "http://host:8x", "http://host/?q=1",
        "http://host/#frag", "http://[::1", "http://[::1]x"}) {
    CAPTURE(url);
    BaseUrl parts;
    CHECK_FALSE(ParseBaseUrl(url, &parts).empty());
    Client client(Options(url));
    const Response r = client.Get("/api/aurora/");
    CHECK(r.status == 0);
    CHECK(r.code == "error");
    CHECK_FALSE(r.error.empty());
  }
  for (const char* url :
       {"https://api.creatify.ai", "HTTPS://api.creatify.ai/", "http://127.0.0.1:8080",
        "http://proxy/creatify/", "http://[::1]:8080/prefix"}) {
    CAPTURE(url);
    BaseUrl parts;
    CHECK(ParseBaseUrl(url, &parts).empty());
  }
}

TEST_CASE("ParseRetryAfter") {
  // Sun, 06 Nov 1994 08:49:37 GMT.
  const std::chrono::system_clock::time_point now{std::chrono::seconds(784111777)};
  CHECK(ParseRetryAfter("120", now) == 120.0);
  CHECK(ParseRetryAfter(" 5 ", now) == 5.0);
  CHECK(ParseRetryAfter("0", now) == 0.0);
  CHECK(ParseRetryAfter("Sun, 06 Nov 1994 08:51:37 GMT", now) == 120.0);
  CHECK(ParseRetryAfter("Sunday, 06-Nov-94 08:51:37 GMT", now) == 120.0);
  CHECK(ParseRetryAfter("Sun Nov  6 08:51:37 1994", now) == 120.0);
  CHECK(ParseRetryAfter("Mon, 07 Nov 1994 08:49:37 GMT", now) == 86400.0);
  CHECK(ParseRetryAfter("Sat, 05 Nov 1994 08:49:37 GMT", now) == 0.0);
  for (const char* bad :
       {"", "-5", "1.5", "soon", "Sun, 06 Foo 1994 08:49:37 GMT", "Sun, 31 Feb 1994 08:49:37 GMT",
        "Sun, 06 Nov 1994 25:49:37 GMT", "Sun, 06 Nov 1994 08:49:37 PST",
        "Sun, 06 Nov 1994 08:49 GMT", "06 Nov 1994 08:49:37 GMT"}) {
    CAPTURE(bad);
    CHECK_FALSE(ParseRetryAfter(bad, now).has_value());
  }
}

}  // namespace
}  // namespace creatify
