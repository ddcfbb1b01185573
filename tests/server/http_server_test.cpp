// The server against careless and hostile clients: slow, non-reading, malformed, oversized.
#include "server/http_server.h"

#include <doctest/doctest.h>

#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "server/route_table.h"
#include "server/test_server.h"
#include "support/metrics.h"
#include "support/process.h"
#include "support/raw_client.h"

namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using Clock = std::chrono::steady_clock;
using testserver::TestServer;

constexpr char kScrape[] = "GET /metrics HTTP/1.1\r\nHost: localhost\r\n\r\n";

// A scrape with cpp-httplib's client, as Prometheus would; how long it took.
Clock::duration TimedScrape(const TestServer& server) {
  auto start = Clock::now();
  auto result = testsupport::HttpGet(server.port(), "/metrics");
  auto took = Clock::now() - start;
  CHECK(result.status == 200);
  CHECK(result.body == *server.metrics);
  return took;
}

// The server still answers a normal request.
bool Healthy(const TestServer& server) {
  rawclient::Connection client(server.port());
  if (!client.Send("GET /-/healthy HTTP/1.1\r\nHost: x\r\n\r\n")) return false;
  auto answer = client.Read();
  return answer.status == 200 && answer.body == "Healthy\n";
}

// Clients that send a byte of their request head to each connection once a second, from a
// thread, until destroyed.
class Tricklers {
 public:
  Tricklers(int port, int count) {
    for (int i = 0; i < count; ++i) {
      connections_.push_back(std::make_unique<rawclient::Connection>(port));
      REQUIRE(connections_.back()->connected());
    }
    thread_ = std::thread([this] {
      const std::string head = "GET /metrics HTTP/1.1\r\nHost: localhost\r\nX-Slow: yes\r\n";
      std::unique_lock lock(mutex_);
      for (size_t i = 0; !done_; ++i) {
        for (auto& connection : connections_) {
          if (!connection->Send(head.substr(i % head.size(), 1))) ++refused_;
        }
        rounds_ = i + 1;
        changed_.notify_all();
        // The clients' pace: one byte a second.
        changed_.wait_for(lock, seconds(1), [this] { return done_; });
      }
    });
  }
  ~Tricklers() {
    {
      std::lock_guard lock(mutex_);
      done_ = true;
    }
    changed_.notify_all();
    thread_.join();
  }
  // Bytes the server did not take (its connection was closed).
  size_t Refused() {
    std::lock_guard lock(mutex_);
    return refused_;
  }
  void WaitRounds(size_t rounds) {
    std::unique_lock lock(mutex_);
    changed_.wait(lock, [&] { return rounds_ >= rounds; });
  }

 private:
  std::vector<std::unique_ptr<rawclient::Connection>> connections_;
  std::thread thread_;
  std::mutex mutex_;
  std::condition_variable changed_;
  size_t rounds_ = 0;   // guarded by mutex_
  size_t refused_ = 0;  // guarded by mutex_
  bool done_ = false;   // guarded by mutex_
};

// Clients that ask for many large answers and read none of them.
std::vector<std::unique_ptr<rawclient::Connection>> NonReaders(int port, int count) {
  std::string requests;
  for (int i = 0; i < 20; ++i) requests += kScrape;
  std::vector<std::unique_ptr<rawclient::Connection>> clients;
  for (int i = 0; i < count; ++i) {
    clients.push_back(std::make_unique<rawclient::Connection>(port, 4096));
    REQUIRE(clients.back()->connected());
    REQUIRE(clients.back()->Send(requests));
  }
  return clients;
}

}  // namespace

TEST_CASE("a scrape answers within 1 s while 200 connections send their headers a byte a second") {
  TestServer server;
  Tricklers slow(server.port(), 200);
  slow.WaitRounds(2);
  for (int i = 0; i < 3; ++i) CHECK(TimedScrape(server) < seconds(1));
}

TEST_CASE("a scrape answers within 1 s while 50 clients scrape without reading their answers") {
  TestServer server(256 * 1024);
  auto clients = NonReaders(server.port(), 50);
  // Each non-reader's first answer has been started before the scrapes below.
  REQUIRE(testsupport::WaitFor([&] { return server.get_calls.load() >= 50; }, seconds(10)));
  for (int i = 0; i < 3; ++i) CHECK(TimedScrape(server) < seconds(1));
}

TEST_CASE("a request head still incomplete 10 s after its first byte is cut off") {
  TestServer server;
  Tricklers slow(server.port(), 1);
  slow.WaitRounds(1);
  auto start = Clock::now();
  // A connection that never sends a byte has as long for its first one.
  rawclient::Connection idle(server.port());
  CHECK(idle.WaitClosed(seconds(15)));
  CHECK(Clock::now() - start > seconds(9));
  CHECK(Clock::now() - start < seconds(12));
  // The trickler's connection was closed at its deadline (checked every 250 ms): a byte sent
  // after it fails.
  CHECK(testsupport::WaitFor([&] { return slow.Refused() > 0; }, seconds(5)));
  CHECK(Healthy(server));
}

TEST_CASE("500 concurrent scrapes all succeed") {
  TestServer server(16 * 1024);
  std::vector<std::unique_ptr<rawclient::Connection>> clients;
  for (int i = 0; i < 500; ++i) {
    clients.push_back(std::make_unique<rawclient::Connection>(server.port()));
    REQUIRE(clients.back()->connected());
  }
  // Every request is sent before any answer is read: the server holds all 500 at once.
  for (auto& client : clients) REQUIRE(client->Send(kScrape));
  int ok = 0;
  for (auto& client : clients) {
    auto answer = client->Read(seconds(10));
    ok += answer.status == 200 && answer.body == *server.metrics ? 1 : 0;
  }
  CHECK(ok == 500);
}

TEST_CASE("other methods on a route get 405 with Allow, without their body being read") {
  TestServer server;
  SUBCASE("PUT with a large Content-Length on a GET route") {
    rawclient::Connection client(server.port());
    // Only the head and a few bytes of a 10 MB body are sent: the answer comes all the same.
    REQUIRE(client.Send("PUT /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 10000000\r\n\r\nab"));
    auto answer = client.Read();
    CHECK(answer.status == 405);
    CHECK(answer.Header("Allow") == "GET, HEAD");
    CHECK(answer.Header("Connection") == "close");
    CHECK(client.WaitClosed());
  }
  SUBCASE("a chunked POST to /metrics") {
    rawclient::Connection client(server.port());
    REQUIRE(
        client.Send("POST /metrics HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                    "400\r\n"));
    auto answer = client.Read();
    CHECK(answer.status == 405);
    CHECK(answer.Header("Allow") == "GET, HEAD");
    CHECK(client.WaitClosed());
  }
  SUBCASE("GET on a POST route") {
    rawclient::Connection client(server.port());
    REQUIRE(client.Send("GET /-/reload HTTP/1.1\r\nHost: x\r\n\r\n"));
    auto answer = client.Read();
    CHECK(answer.status == 405);
    CHECK(answer.Header("Allow") == "POST");
  }
  SUBCASE("DELETE under a POST prefix") {
    rawclient::Connection client(server.port());
    REQUIRE(client.Send("DELETE /hooks/a HTTP/1.1\r\nHost: x\r\n\r\n"));
    CHECK(client.Read().Header("Allow") == "POST");
  }
  CHECK(server.Posts().empty());
  CHECK(Healthy(server));
}

TEST_CASE("a POST route whose exists() says false is not found, for any method") {
  server::RouteTable routes;
  bool exists = false;
  routes.AddPost(
      "/hook/", 1024, [](const server::Request&) { return server::Response{}; },
      [&exists] { return exists; });
  CHECK(routes.FindPost("/hook/a/b") == nullptr);
  CHECK(routes.Allow("/hook/a/b").empty());
  exists = true;
  CHECK(routes.FindPost("/hook/a/b") != nullptr);
  CHECK(routes.Allow("/hook/a/b") == "POST");
}

TEST_CASE("an unknown path is 404, and HEAD gets the head alone") {
  TestServer server;
  rawclient::Connection client(server.port());
  REQUIRE(client.Send("GET /nope HTTP/1.1\r\nHost: x\r\n\r\n"));
  auto missing = client.Read();
  CHECK(missing.status == 404);
  CHECK(missing.body == "Not Found\n");
  // The same connection goes on: HEAD, then a pipelined GET right behind it.
  REQUIRE(client.Send(
      "HEAD /metrics HTTP/1.1\r\nHost: x\r\n\r\nGET /-/healthy HTTP/1.1\r\nHost: x\r\n\r\n"));
  auto head = client.Read(seconds(5), /*head_only=*/true);
  CHECK(head.status == 200);
  CHECK(head.Header("Content-Length") == std::to_string(server.metrics->size()));
  CHECK(head.Header("Vary") == "Accept-Encoding");
  CHECK(head.Header("X-Content-Type-Options") == "nosniff");
  CHECK(head.Header("Content-Type") == "text/plain; charset=utf-8");
  auto healthy = client.Read();
  CHECK(healthy.status == 200);
  CHECK(healthy.body == "Healthy\n");
}

TEST_CASE("pipelined requests are answered in order on one connection") {
  TestServer server;
  rawclient::Connection client(server.port());
  REQUIRE(client.Send(std::string(kScrape) +
                      "POST /-/reload HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc" +
                      "GET /-/healthy HTTP/1.1\r\nHost: x\r\n\r\n" + kScrape));
  auto first = client.Read();
  CHECK(first.body == *server.metrics);
  auto second = client.Read();
  CHECK(second.body == "got 3\n");
  CHECK(client.Read().body == "Healthy\n");
  CHECK(client.Read().body == *server.metrics);
  REQUIRE(server.Posts().size() == 1);
  CHECK(server.Posts()[0].body == "abc");
}

TEST_CASE("Connection: close and HTTP/1.0 end the connection after the answer") {
  TestServer server;
  {
    rawclient::Connection client(server.port());
    REQUIRE(client.Send("GET /-/healthy HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"));
    auto answer = client.Read();
    CHECK(answer.status == 200);
    CHECK(answer.Header("Connection") == "close");
    CHECK(client.WaitClosed());
  }
  {
    rawclient::Connection client(server.port());
    REQUIRE(client.Send("GET /-/healthy HTTP/1.0\r\n\r\n"));
    CHECK(client.Read().status == 200);
    CHECK(client.WaitClosed());
  }
  {
    rawclient::Connection client(server.port());
    REQUIRE(client.Send("GET /-/healthy HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"));
    auto answer = client.Read();
    CHECK(answer.Header("Connection") == "keep-alive");
    REQUIRE(client.Send("GET /-/healthy HTTP/1.0\r\n\r\n"));
    CHECK(client.Read().status == 200);
    CHECK(client.WaitClosed());
  }
}

TEST_CASE("a POST body over the route's limit is cut off, by Content-Length or while chunked") {
  TestServer server;
  SUBCASE("Content-Length") {
    rawclient::Connection client(server.port());
    REQUIRE(client.Send("POST /-/reload HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000\r\n\r\n" +
                        std::string(100, 'x')));
    auto answer = client.Read();
    CHECK(answer.status == 413);
    CHECK(answer.Header("Connection") == "close");
    CHECK(client.WaitClosed());
  }
  SUBCASE("chunked") {
    rawclient::Connection client(server.port());
    REQUIRE(client.Send("POST /hooks/x HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"));
    // 300-byte chunks, never ending: the server stops once they pass 1 KiB.
    std::string chunk = "12c\r\n" + std::string(300, 'y') + "\r\n";
    for (int i = 0; i < 4; ++i) REQUIRE(client.Send(chunk));
    auto answer = client.Read();
    CHECK(answer.status == 413);
    CHECK(client.WaitClosed());
  }
  auto posts = server.Posts();
  REQUIRE(posts.size() == 1);
  CHECK(posts[0].body_too_large);
  CHECK(posts[0].body.empty());
  CHECK(Healthy(server));
}

TEST_CASE("a chunked POST body is decoded, however it is split") {
  TestServer server;
  const std::string body =
      "POST /hooks/job HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nExpect: "
      "100-continue\r\n\r\n"
      "5;name=value\r\nhello\r\n1\r\n \r\n5\r\nworld\r\n0\r\nX-Trailer: t\r\n\r\n";
  rawclient::Connection client(server.port());
  // A byte at a time, after the head (which gets 100 Continue).
  size_t head_end = body.find("\r\n\r\n") + 4;
  REQUIRE(client.Send(body.substr(0, head_end)));
  auto interim = client.Read();
  CHECK(interim.status == 100);
  for (size_t i = head_end; i < body.size(); ++i) REQUIRE(client.Send(body.substr(i, 1)));
  auto answer = client.Read();
  CHECK(answer.status == 200);
  CHECK(answer.body == "got 11\n");
  auto posts = server.Posts();
  REQUIRE(posts.size() == 1);
  CHECK(posts[0].body == "hello world");
  CHECK(posts[0].path == "/hooks/job");
  CHECK_FALSE(posts[0].body_too_large);
  // The connection is kept.
  REQUIRE(client.Send(kScrape));
  CHECK(client.Read().status == 200);
}

TEST_CASE("malformed requests get an error answer or a closed connection, and serving goes on") {
  TestServer server;
  struct Case {
    const char* name;
    std::string bytes;
    int status;
  };
  const std::vector<Case> cases = {
      {"oversized headers", "GET /metrics HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(20000, 'a'),
       431},
      {"too many headers",
       "GET /metrics HTTP/1.1\r\nHost: x\r\n" +
           [] {
             std::string fields;
             for (int i = 0; i < 200; ++i) fields += "X-" + std::to_string(i) + ": 1\r\n";
             return fields + "\r\n";
           }(),
       431},
      {"no version", "GET /metrics\r\n\r\n", 400},
      {"bad version", "GET /metrics HTTP/9.9\r\n\r\n", 505},
      {"space in method", "G T /metrics HTTP/1.1\r\nHost: x\r\n\r\n", 400},
      {"relative target", "GET metrics HTTP/1.1\r\nHost: x\r\n\r\n", 400},
      {"space before colon", "GET /metrics HTTP/1.1\r\nHost : x\r\n\r\n", 400},
      {"folded header", "GET /metrics HTTP/1.1\r\nHost: x\r\n folded\r\n\r\n", 400},
      {"bad length", "POST /-/reload HTTP/1.1\r\nHost: x\r\nContent-Length: 1x\r\n\r\n", 400},
      {"two lengths",
       "POST /-/reload HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n", 400},
      {"length and chunked",
       "POST /-/reload HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nTransfer-Encoding: "
       "chunked\r\n\r\n",
       400},
      {"unknown coding", "POST /-/reload HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n",
       501},
      {"bad chunk size",
       "POST /-/reload HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", 400},
      {"HTTP/2 preface", std::string("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"), 0},
      {"NUL in header", std::string("GET / HTTP/1.1\r\nHost: x\r\nX: a\0b\r\n\r\n", 35), 400},
  };
  for (const auto& c : cases) {
    CAPTURE(c.name);
    rawclient::Connection client(server.port());
    REQUIRE(client.Send(c.bytes));
    auto answer = client.Read();
    if (c.status != 0) CHECK(answer.status == c.status);
    // No stack, no exception text: the reason phrase alone.
    CHECK(answer.body.size() < 40);
    CHECK(client.WaitClosed());
  }
  // Random bytes, in several sizes.
  uint32_t seed = 12345;
  for (size_t size : {1, 100, 5000, 20000}) {
    std::string noise(size, '\0');
    for (char& c : noise) {
      seed = seed * 1103515245 + 12345;
      c = static_cast<char>(seed >> 16);
    }
    rawclient::Connection client(server.port());
    client.Send(noise);
    client.Send("\r\n\r\n");
    auto answer = client.Read(seconds(5));
    CHECK((answer.status == 0 || answer.status == 400 || answer.status == 431));
    CHECK(client.WaitClosed(seconds(15)));
  }
  CHECK(Healthy(server));
  CHECK(TimedScrape(server) < seconds(1));
}

TEST_CASE("a handler that throws gives a bare 500, and the connection goes on") {
  TestServer server;
  rawclient::Connection client(server.port());
  REQUIRE(client.Send("GET /boom HTTP/1.1\r\nHost: x\r\n\r\n"));
  auto answer = client.Read();
  CHECK(answer.status == 500);
  CHECK(answer.body == "Internal Server Error\n");
  CHECK(answer.head.find("secret") == std::string::npos);
  CHECK(answer.head.find("/etc") == std::string::npos);
  REQUIRE(client.Send("GET /-/healthy HTTP/1.1\r\nHost: x\r\n\r\n"));
  CHECK(client.Read().status == 200);
}

TEST_CASE("Stop returns promptly while slow and non-reading clients are connected") {
  auto server = std::make_unique<TestServer>(1024 * 1024);
  Tricklers slow(server->port(), 20);
  auto clients = NonReaders(server->port(), 20);
  REQUIRE(testsupport::WaitFor([&] { return server->get_calls.load() >= 20; }, seconds(10)));
  slow.WaitRounds(1);
  auto start = Clock::now();
  server.reset();  // Stop, then join Serve's thread
  CHECK(Clock::now() - start < seconds(4));
}

TEST_CASE("Stop before Serve makes Serve return at once") {
  server::HttpServer http;
  std::string error;
  REQUIRE(http.Bind("127.0.0.1", 0, &error));
  http.Stop();
  auto start = Clock::now();
  http.Serve();
  CHECK(Clock::now() - start < seconds(1));
}

TEST_CASE("a second server on the same port fails at Bind with a clear message") {
  TestServer server;
  server::HttpServer second;
  std::string error;
  CHECK_FALSE(second.Bind("127.0.0.1", server.port(), &error));
  CHECK(error ==
        "cannot listen on 127.0.0.1:" + std::to_string(server.port()) + ": Address already in use");
  CHECK(Healthy(server));
}

TEST_CASE("the authorizer's no is a 401 with WWW-Authenticate, and the route is not called") {
  std::atomic<int> asked{0};
  TestServer server(1024, [&](server::HttpServer& http) {
    http.SetAuthorizer([&](std::string_view authorization) {
      ++asked;
      return authorization == "Basic dXNlcjpwYXNz";
    });
  });
  {
    rawclient::Connection client(server.port());
    REQUIRE(client.Send("GET /-/healthy HTTP/1.1\r\nHost: x\r\n\r\n"));
    auto answer = client.Read();
    CHECK(answer.status == 401);
    CHECK(answer.Header("WWW-Authenticate") == "Basic realm=\"creatify-exporter\"");
    // A wrong password, on the same connection.
    REQUIRE(
        client.Send("GET /metrics HTTP/1.1\r\nHost: x\r\nAuthorization: Basic d3Jvbmc=\r\n\r\n"));
    CHECK(client.Read().status == 401);
    REQUIRE(client.Send(
        "GET /metrics HTTP/1.1\r\nHost: x\r\nAuthorization: Basic dXNlcjpwYXNz\r\n\r\n"));
    auto allowed = client.Read();
    CHECK(allowed.status == 200);
    CHECK(allowed.body == *server.metrics);
  }
  {
    // Refused before its body is read: only part of it is ever sent.
    rawclient::Connection client(server.port());
    REQUIRE(client.Send("POST /-/reload HTTP/1.1\r\nHost: x\r\nContent-Length: 500\r\n\r\nabc"));
    auto answer = client.Read();
    CHECK(answer.status == 401);
    CHECK(client.WaitClosed());
  }
  CHECK(server.get_calls.load() == 1);
  CHECK(server.Posts().empty());
  CHECK(asked.load() == 4);
}

TEST_CASE("connections are spread evenly over the event loops, whichever accepts them") {
  TestServer server;
  std::vector<std::unique_ptr<rawclient::Connection>> clients;
  for (int i = 0; i < 16; ++i) {
    clients.push_back(std::make_unique<rawclient::Connection>(server.port()));
    // Answered: the connection is held by a loop by now.
    REQUIRE(clients.back()->Send("GET /-/healthy HTTP/1.1\r\nHost: x\r\n\r\n"));
    REQUIRE(clients.back()->Read().status == 200);
  }
  std::vector<size_t> counts;
  REQUIRE(testsupport::WaitFor(
      [&] {
        counts = server.http.ConnectionsPerLoop();
        size_t total = 0;
        for (size_t count : counts) total += count;
        return total == 16;
      },
      seconds(5)));
  CAPTURE(counts[0]);
  CAPTURE(counts[1]);
  REQUIRE(counts.size() == 2);
  CHECK(std::max(counts[0], counts[1]) - std::min(counts[0], counts[1]) <= 1);
  // Every connection still answers, on whichever loop holds it.
  for (auto& client : clients) {
    REQUIRE(client->Send("GET /-/healthy HTTP/1.1\r\nHost: x\r\n\r\n"));
    CHECK(client->Read().status == 200);
  }
}
