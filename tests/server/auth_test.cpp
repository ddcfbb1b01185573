// Authorization under a flood: the AuthQueue's turns and limits, and a server whose password
// checks are held up answering the clients it already knows, refusing the clients that ask too
// much, and giving a new client its turn.
#include <doctest/doctest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "server/auth_queue.h"
#include "server/http_server.h"
#include "support/raw_client.h"
#include "test_server.h"

namespace {

using namespace std::chrono_literals;
using testserver::TestServer;

// Holds the checks until opened.
class Gate {
 public:
  void Wait() {
    std::unique_lock lock(mutex_);
    opened_.wait(lock, [&] { return open_; });
  }
  void Open() {
    std::lock_guard lock(mutex_);
    open_ = true;
    opened_.notify_all();
  }

 private:
  std::mutex mutex_;
  std::condition_variable opened_;
  bool open_ = false;
};

// What ran, in order, with a wait for a count.
class Log {
 public:
  void Add(std::string entry) {
    std::lock_guard lock(mutex_);
    entries_.push_back(std::move(entry));
    changed_.notify_all();
  }
  bool WaitFor(size_t count, std::chrono::milliseconds timeout = 10s) {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, timeout, [&] { return entries_.size() >= count; });
  }
  std::vector<std::string> entries() {
    std::lock_guard lock(mutex_);
    return entries_;
  }

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<std::string> entries_;
};

// Polls `condition` every millisecond for up to 10 s.
bool WaitUntil(const std::function<bool()>& condition) {
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  while (!condition()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(1ms);
  }
  return true;
}

std::shared_ptr<std::atomic<bool>> Flag() { return std::make_shared<std::atomic<bool>>(false); }

// The AuthQueue's threads on this machine, as it chooses them.
int DefaultAuthThreads() {
  return std::clamp(static_cast<int>(std::thread::hardware_concurrency()) / 2, 1, 4);
}

}  // namespace

TEST_CASE("the auth queue takes clients in turns: one client's many checks wait behind itself") {
  // Declared last, so that its threads are joined before what they use goes.
  Gate gate;
  Log log;
  server::AuthQueue queue({.max_waiting = 64, .max_waiting_per_client = 8, .threads = 1});
  // The one thread is busy until the gate opens: everything after waits.
  REQUIRE(queue.Submit("x", Flag(), [&] {
    gate.Wait();
    log.Add("X");
  }) == server::AuthQueue::Admission::kQueued);
  for (const char* job : {"A1", "A2", "A3"}) {
    REQUIRE(queue.Submit("a", Flag(), [&log, job] { log.Add(job); }) ==
            server::AuthQueue::Admission::kQueued);
  }
  REQUIRE(queue.Submit("b", Flag(), [&] { log.Add("B1"); }) ==
          server::AuthQueue::Admission::kQueued);
  REQUIRE(queue.Submit("c", Flag(), [&] { log.Add("C1"); }) ==
          server::AuthQueue::Admission::kQueued);
  gate.Open();
  REQUIRE(log.WaitFor(6));
  CHECK(log.entries() == std::vector<std::string>{"X", "A1", "B1", "C1", "A2", "A3"});
}

TEST_CASE("the auth queue refuses past a client's share (kClientBusy) and past its total (kFull)") {
  // Declared last, so that its threads are joined before what they use goes.
  Gate gate;
  Log log;
  server::AuthQueue queue({.max_waiting = 6, .max_waiting_per_client = 4, .threads = 1});
  REQUIRE(queue.Submit("x", Flag(), [&] { gate.Wait(); }) == server::AuthQueue::Admission::kQueued);
  // Wait for the blocker to be running, so that what follows is all waiting.
  REQUIRE(WaitUntil([&] { return queue.waiting() == 0; }));
  for (int i = 0; i < 4; ++i) {
    CHECK(queue.Submit("a", Flag(), [&] { log.Add("a"); }) ==
          server::AuthQueue::Admission::kQueued);
  }
  CHECK(queue.Submit("a", Flag(), [&] { log.Add("a"); }) ==
        server::AuthQueue::Admission::kClientBusy);
  // Another client still has room, until the total is reached.
  CHECK(queue.Submit("b", Flag(), [&] { log.Add("b"); }) == server::AuthQueue::Admission::kQueued);
  CHECK(queue.Submit("c", Flag(), [&] { log.Add("c"); }) == server::AuthQueue::Admission::kQueued);
  CHECK(queue.Submit("d", Flag(), [&] { log.Add("d"); }) == server::AuthQueue::Admission::kFull);
  CHECK(queue.waiting() == 6);
  gate.Open();
  REQUIRE(log.WaitFor(6));
  // Refused checks never run.
  CHECK(log.entries().size() == 6);
  CHECK(queue.Submit("a", Flag(), [&] { log.Add("a"); }) == server::AuthQueue::Admission::kQueued);
  CHECK(log.WaitFor(7));
}

TEST_CASE("an abandoned check is dropped unrun and no longer counts against its client") {
  // Declared last, so that its threads are joined before what they use goes.
  Gate gate;
  Log log;
  server::AuthQueue queue({.max_waiting = 64, .max_waiting_per_client = 2, .threads = 1});
  REQUIRE(queue.Submit("x", Flag(), [&] { gate.Wait(); }) == server::AuthQueue::Admission::kQueued);
  REQUIRE(WaitUntil([&] { return queue.waiting() == 0; }));
  auto first = Flag();
  auto second = Flag();
  REQUIRE(queue.Submit("a", first, [&] { log.Add("a1"); }) ==
          server::AuthQueue::Admission::kQueued);
  REQUIRE(queue.Submit("a", second, [&] { log.Add("a2"); }) ==
          server::AuthQueue::Admission::kQueued);
  CHECK(queue.Submit("a", Flag(), [&] { log.Add("a3"); }) ==
        server::AuthQueue::Admission::kClientBusy);
  // Its connections closed: both checks are given up.
  first->store(true);
  second->store(true);
  CHECK(queue.Submit("a", Flag(), [&] { log.Add("a4"); }) == server::AuthQueue::Admission::kQueued);
  gate.Open();
  REQUIRE(log.WaitFor(1));
  // The queue is empty once a4 ran: nothing else was left to run.
  REQUIRE(WaitUntil([&] { return queue.waiting() == 0; }));
  queue.Submit("z", Flag(), [&] { log.Add("z"); });
  REQUIRE(log.WaitFor(2));
  CHECK(log.entries() == std::vector<std::string>{"a4", "z"});
}

namespace {

constexpr const char* kKnown = "Basic a25vd246cGFzcw==";  // known:pass

// A server whose quick recall knows kKnown, and whose slow check records the Authorization header
// it was given (and its thread) in `checks` as it starts, then waits for `gate` and says no.
struct FloodedServer {
  Gate gate;
  Log checks;
  std::mutex mutex;
  std::set<std::thread::id> check_threads;
  std::set<std::thread::id> handler_threads;
  std::atomic<int> recalls{0};
  std::unique_ptr<TestServer> server;

  FloodedServer() {
    server = std::make_unique<TestServer>(1024, [this](server::HttpServer& http) {
      http.Get("/whoami", [this](const server::Request&) {
        std::lock_guard lock(mutex);
        handler_threads.insert(std::this_thread::get_id());
        return server::Response{.body = "ok\n"};
      });
      server::Authorizer authorizer;
      authorizer.recall = [this](std::string_view authorization) -> std::optional<bool> {
        ++recalls;
        if (authorization == kKnown) return true;
        return std::nullopt;
      };
      authorizer.check = [this](std::string_view authorization) {
        {
          std::lock_guard lock(mutex);
          check_threads.insert(std::this_thread::get_id());
        }
        checks.Add(std::string(authorization));
        gate.Wait();
        return false;
      };
      http.SetAuthorizer(std::move(authorizer));
    });
  }
  ~FloodedServer() {
    gate.Open();
    server.reset();
  }
};

std::string Get(const std::string& path, const std::string& authorization) {
  return "GET " + path + " HTTP/1.1\r\nHost: localhost\r\nAuthorization: " + authorization +
         "\r\n\r\n";
}

}  // namespace

TEST_CASE("a known scraper is answered at once while every password check is held up") {
  FloodedServer flooded;
  const int port = flooded.server->port();
  // Strangers from several addresses fill the checks and hold them.
  std::vector<std::unique_ptr<rawclient::Connection>> strangers;
  for (int i = 0; i < 12; ++i) {
    const std::string source = "127.0.0." + std::to_string(10 + i % 6);
    strangers.push_back(std::make_unique<rawclient::Connection>(port, 0, source.c_str()));
    REQUIRE(strangers.back()->connected());
    REQUIRE(strangers.back()->Send(Get("/metrics", "Basic c3RyYW5nZXI6" + std::to_string(i))));
  }
  // Every check thread is busy (or the strangers wait for one): the known scraper's answers come
  // from the recall alone, on every connection, again and again.
  for (int round = 0; round < 5; ++round) {
    rawclient::Connection scraper(port);
    REQUIRE(scraper.Send(Get("/metrics", kKnown)));
    auto answer = scraper.Read(2s);
    CHECK(answer.status == 200);
    CHECK(answer.body == *flooded.server->metrics);
  }
  // Only the strangers' headers were ever checked.
  for (const auto& checked : flooded.checks.entries()) CHECK(checked != kKnown);
  flooded.gate.Open();
  // The strangers get their 401 once their checks ran.
  for (auto& stranger : strangers) CHECK(stranger->Read(10s).status == 401);
  CHECK(flooded.checks.entries().size() == strangers.size());
}

TEST_CASE("a client past its share of waiting checks gets 429 with Retry-After a second later") {
  FloodedServer flooded;
  const int port = flooded.server->port();
  // At most 4 checks run (the threads) and 4 wait per client: the rest are refused.
  constexpr int kConnections = 12;
  std::vector<std::unique_ptr<rawclient::Connection>> connections;
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < kConnections; ++i) {
    connections.push_back(std::make_unique<rawclient::Connection>(port, 0, "127.0.0.20"));
    REQUIRE(connections.back()->Send(Get("/metrics", "Basic YTpi")));
  }
  // The refusals arrive while the gate is still closed (they never waited for a check), held
  // for the second their Retry-After names.
  std::vector<rawclient::Answer> answers(connections.size());
  std::vector<std::chrono::steady_clock::duration> after(connections.size());
  {
    std::vector<std::thread> readers;
    for (size_t i = 0; i < connections.size(); ++i) {
      readers.emplace_back([&, i] {
        answers[i] = connections[i]->Read(3s);
        after[i] = std::chrono::steady_clock::now() - start;
      });
    }
    for (auto& reader : readers) reader.join();
  }
  int refused = 0;
  std::vector<size_t> waiting;
  for (size_t i = 0; i < connections.size(); ++i) {
    if (answers[i].status == 0) {
      waiting.push_back(i);
      continue;
    }
    CHECK(answers[i].status == 429);
    CHECK(answers[i].Header("Retry-After") == "1");
    CHECK(after[i] >= 1s);
    ++refused;
  }
  CHECK(refused >= kConnections - DefaultAuthThreads() - 4);
  CHECK(waiting.size() <= static_cast<size_t>(DefaultAuthThreads() + 4));
  // Another client is not refused: it waits for its turn.
  rawclient::Connection other(port, 0, "127.0.0.21");
  REQUIRE(other.Send(Get("/metrics", "Basic Yzpk")));
  CHECK(other.Read(1500ms).status == 0);
  flooded.gate.Open();
  CHECK(other.Read(10s).status == 401);
  for (size_t i : waiting) CHECK(connections[i]->Read(10s).status == 401);
}

TEST_CASE("a new client's check comes within a turn of the flooding client's") {
  FloodedServer flooded;
  server::HttpServer& http = flooded.server->http;
  const int port = http.port();
  const int threads = DefaultAuthThreads();
  std::vector<std::unique_ptr<rawclient::Connection>> flood;
  auto send_flood = [&](int n) {
    for (int i = 0; i < n; ++i) {
      flood.push_back(std::make_unique<rawclient::Connection>(port, 0, "127.0.0.30"));
      const std::string password = std::to_string(flood.size());
      REQUIRE(flood.back()->Send(Get("/metrics", "Basic Zmxvb2Q6" + password)));
    }
  };
  // The flooder's first checks hold every thread (the threads run at a lower priority: wait for
  // them to start), then four more of its checks wait.
  send_flood(threads);
  REQUIRE(
      WaitUntil([&] { return flooded.checks.entries().size() == static_cast<size_t>(threads); }));
  send_flood(4);
  REQUIRE(WaitUntil([&] { return http.auth_checks_waiting() == 4; }));
  rawclient::Connection fresh(port, 0, "127.0.0.31");
  REQUIRE(fresh.Send(Get("/metrics", "Basic ZnJlc2g6eA==")));
  REQUIRE(WaitUntil([&] { return http.auth_checks_waiting() == 5; }));
  flooded.gate.Open();
  CHECK(fresh.Read(10s).status == 401);
  for (auto& connection : flood) CHECK(connection->Read(10s).status == 401);
  auto order = flooded.checks.entries();
  REQUIRE(order.size() == flood.size() + 1);
  const auto position = std::find(order.begin(), order.end(), "Basic ZnJlc2g6eA==") - order.begin();
  // Those running when the gate opened started first; then the flooder and the new client take
  // turns, so the new client's is the second check taken after them, not the fifth (with several
  // threads, two taken together may start in either order).
  CHECK(position <= threads + 1);
  CHECK(position >= threads);
}

TEST_CASE("password checks never run on the threads that serve GET handlers") {
  FloodedServer flooded;
  flooded.gate.Open();
  const int port = flooded.server->port();
  for (int i = 0; i < 16; ++i) {
    rawclient::Connection known(port);
    REQUIRE(known.Send(Get("/whoami", kKnown)));
    CHECK(known.Read().status == 200);
    rawclient::Connection stranger(port);
    REQUIRE(stranger.Send(Get("/whoami", "Basic eDp5")));
    CHECK(stranger.Read().status == 401);
  }
  std::lock_guard lock(flooded.mutex);
  CHECK_FALSE(flooded.handler_threads.empty());
  CHECK_FALSE(flooded.check_threads.empty());
  for (const auto& id : flooded.check_threads) CHECK(flooded.handler_threads.count(id) == 0);
}
