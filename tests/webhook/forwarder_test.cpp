// The forwarder against fake peer replicas on a loopback port: order, one stalled peer against
// the others, the token read when sending, the calls stored in the state file across a stop,
// and each way a call ends.
#include "webhook/forwarder.h"

#include <doctest/doctest.h>
#include <httplib.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <condition_variable>
#include <ctime>
#include <map>
#include <mutex>
#include <thread>
#include <vector>

#include "persist/forward_queue.h"
#include "persist/state_file.h"
#include "state/job_record.h"
#include "support/process.h"
#include "webhook/broken_queue.h"

using testsupport::WaitFor;
using webhook::Forwarder;
using webhook::ForwarderOptions;

namespace {

using namespace std::chrono_literals;

// Every peer replica on one server: replica N at http://127.0.0.1:PORT/N (the {shard} of the
// URL template is the first path segment). Each answers the status set for it, or holds the
// request while it is stalled.
class Peers {
 public:
  struct Call {
    int shard = 0;
    std::string kind;
    std::string token;
    std::string body;
    int status = 0;
  };

  Peers() {
    server_.Post(
        R"(/(\d+)/webhook/([^/]+)/([^/]*)/forwarded)",
        [this](const httplib::Request& request, httplib::Response& response) {
          const int shard = std::stoi(request.matches[1]);
          std::unique_lock<std::mutex> lock(mutex_);
          ++arrived_;
          changed_.wait(lock, [&] { return closing_ || !stalled_[shard]; });
          const int status = status_.contains(shard) ? status_[shard] : 202;
          calls_.push_back({shard, request.matches[2], request.matches[3], request.body, status});
          response.status = status;
          response.set_content("{}", "application/json");
        });
    port_ = server_.bind_to_any_port("127.0.0.1");
    REQUIRE(port_ > 0);
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    REQUIRE(WaitFor([this] { return server_.is_running(); }, 5s));
  }
  ~Peers() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      closing_ = true;
    }
    changed_.notify_all();
    server_.stop();
    thread_.join();
  }

  std::string Template() const { return "http://127.0.0.1:" + std::to_string(port_) + "/{shard}"; }

  void SetStatus(int shard, int status) {
    std::lock_guard<std::mutex> lock(mutex_);
    status_[shard] = status;
  }
  void Stall(int shard, bool stalled) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stalled_[shard] = stalled;
    }
    changed_.notify_all();
  }
  // Requests that reached the server, answered or held.
  int Arrived() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return arrived_;
  }
  // The calls answered so far (every attempt, with the status it got).
  std::vector<Call> Calls() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return calls_;
  }
  // The bodies that shard `shard` took (2xx), in order.
  std::vector<std::string> Delivered(int shard) const {
    std::vector<std::string> bodies;
    for (const auto& call : Calls()) {
      if (call.shard == shard && call.status / 100 == 2) bodies.push_back(call.body);
    }
    return bodies;
  }

 private:
  httplib::Server server_;
  int port_ = 0;
  std::thread thread_;
  mutable std::mutex mutex_;
  std::condition_variable changed_;
  std::map<int, int> status_;    // guarded by mutex_
  std::map<int, bool> stalled_;  // guarded by mutex_
  bool closing_ = false;         // guarded by mutex_
  int arrived_ = 0;              // guarded by mutex_
  std::vector<Call> calls_;      // guarded by mutex_
};

// A URL template whose every replica refuses connections (a port nobody listens on).
std::string DownTemplate() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0);
  socklen_t length = sizeof address;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length);
  ::close(fd);
  return "http://127.0.0.1:" + std::to_string(ntohs(address.sin_port)) + "/{shard}";
}

ForwarderOptions Fast(std::string url_template) {
  return ForwarderOptions{.url_template = std::move(url_template),
                          .user_agent = "forwarder-test",
                          .first_backoff = 20ms,
                          .max_backoff = 100ms,
                          .connect_timeout = 1s,
                          .request_timeout = 2s};
}

// How calls ended, as the forwarder reported them.
class Ends {
 public:
  Forwarder::OnEnd Callback() {
    return [this](const std::string& kind, std::string_view result) {
      std::lock_guard<std::mutex> lock(mutex_);
      ++counts_[kind + "/" + std::string(result)];
    };
  }
  Forwarder::OnQueued Waiting() {
    return [this](int delta) {
      std::lock_guard<std::mutex> lock(mutex_);
      waiting_ += delta;
    };
  }
  int Count(const std::string& kind, std::string_view result) const {
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = counts_.find(kind + "/" + std::string(result));
    return it == counts_.end() ? 0 : it->second;
  }
  int waiting() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return waiting_;
  }

 private:
  mutable std::mutex mutex_;
  std::map<std::string, int> counts_;  // guarded by mutex_
  int waiting_ = 0;                    // guarded by mutex_
};

std::string Body(int i) { return R"({"id":"job-)" + std::to_string(i) + R"("})"; }

// A state file made afresh at `path`, as start-up makes it before the forwarder opens it.
std::unique_ptr<persist::StateFile> MakeStateFile(const std::string& path) {
  persist::OpenResult result;
  std::string error;
  auto file = persist::StateFile::Open(path, 1'800'000'000, &result, &error);
  REQUIRE_MESSAGE(file != nullptr, error);
  REQUIRE(file->is_open());
  return file;
}

std::unique_ptr<persist::ForwardQueue> MustOpenQueue(const std::string& path) {
  std::string error;
  auto queue = persist::OpenForwardQueue(path, &error);
  REQUIRE_MESSAGE(queue != nullptr, error);
  return queue;
}

using webhook_test::BrokenQueue;

}  // namespace

TEST_CASE("calls to one peer are delivered in the order they were received") {
  Peers peers;
  Ends ends;
  Forwarder forwarder(Fast(peers.Template()), nullptr, ends.Callback(), ends.Waiting());
  forwarder.SetToken("token-1");
  std::vector<std::string> sent;
  for (int i = 0; i < 20; ++i) {
    sent.push_back(Body(i));
    REQUIRE(forwarder.Forward(1, "ads_clone", Body(i)) == Forwarder::Queued::kQueued);
  }
  REQUIRE(WaitFor([&] { return peers.Delivered(1).size() == 20; }, 10s));
  CHECK(peers.Delivered(1) == sent);
  CHECK(WaitFor([&] { return ends.Count("ads_clone", webhook::kDelivered) == 20; }, 5s));
  CHECK(ends.waiting() == 0);
  for (const auto& call : peers.Calls()) {
    CHECK(call.kind == "ads_clone");
    CHECK(call.token == "token-1");
  }
}

TEST_CASE("a stalled peer delays only its own calls") {
  Peers peers;
  peers.Stall(2, true);
  Ends ends;
  Forwarder forwarder(Fast(peers.Template()), nullptr, ends.Callback(), ends.Waiting());
  forwarder.SetToken("token");
  REQUIRE(forwarder.Forward(2, "aurora", Body(0)) == Forwarder::Queued::kQueued);
  for (int i = 1; i <= 5; ++i) {
    REQUIRE(forwarder.Forward(1, "aurora", Body(i)) == Forwarder::Queued::kQueued);
    REQUIRE(forwarder.Forward(2, "aurora", Body(10 + i)) == Forwarder::Queued::kQueued);
  }
  // Peer 1 gets all its calls while peer 2 holds the first of its own.
  REQUIRE(WaitFor([&] { return peers.Delivered(1).size() == 5; }, 10s));
  CHECK(peers.Delivered(2).empty());
  CHECK(forwarder.Waiting() == 6);
  peers.Stall(2, false);
  REQUIRE(WaitFor([&] { return peers.Delivered(2).size() == 6; }, 10s));
  CHECK(peers.Delivered(2).front() == Body(0));
  CHECK(peers.Delivered(2).back() == Body(15));
}

TEST_CASE("the token is read when a call is sent, not when it is queued") {
  Peers peers;
  // The peer has not taken the new token yet: it refuses the old one as unauthorized, and the
  // calls wait rather than being given up.
  peers.SetStatus(0, 401);
  Ends ends;
  Forwarder forwarder(Fast(peers.Template()), nullptr, ends.Callback(), ends.Waiting());
  forwarder.SetToken("old-token");
  REQUIRE(forwarder.Forward(0, "ads_clone", Body(1)) == Forwarder::Queued::kQueued);
  REQUIRE(forwarder.Forward(0, "ads_clone", Body(2)) == Forwarder::Queued::kQueued);
  REQUIRE(WaitFor([&] { return peers.Calls().size() >= 2; }, 10s));
  forwarder.SetToken("new-token");
  peers.SetStatus(0, 202);
  REQUIRE(WaitFor([&] { return peers.Delivered(0).size() == 2; }, 10s));
  CHECK(peers.Delivered(0) == std::vector<std::string>{Body(1), Body(2)});
  for (const auto& call : peers.Calls()) {
    if (call.status == 202) CHECK(call.token == "new-token");
  }
  CHECK(ends.Count("ads_clone", webhook::kRefused) == 0);
  CHECK(WaitFor([&] { return ends.Count("ads_clone", webhook::kDelivered) == 2; }, 5s));
}

TEST_CASE("calls stored in the state file survive a stop and are resumed in order") {
  testsupport::TempDir dir;
  const std::string path = dir.File("state.db");
  auto state_file = MakeStateFile(path);
  Ends first_ends;
  {
    auto queue = MustOpenQueue(path);
    Forwarder forwarder(Fast(DownTemplate()), queue.get(), first_ends.Callback(),
                        first_ends.Waiting());
    forwarder.SetToken("token");
    for (int i = 0; i < 4; ++i) {
      REQUIRE(forwarder.Forward(i % 2, "custom_template", Body(i)) == Forwarder::Queued::kQueued);
    }
    CHECK(first_ends.waiting() == 4);
    // Stored: a stop neither waits for the peers nor loses the calls.
    CHECK(forwarder.Stop(10s) == 4);
  }
  {
    std::vector<persist::QueuedCall> stored;
    std::string error;
    REQUIRE(MustOpenQueue(path)->Load(&stored, &error));
    REQUIRE(stored.size() == 4);
    CHECK(stored[0].body == Body(0));
    CHECK(stored[1].shard == 1);
    CHECK(stored[3].kind == "custom_template");
    CHECK(stored[0].received_at > 1'700'000'000);
  }
  // The state file's reader takes a file with the table as it is.
  state_file.reset();
  state_file = nullptr;
  {
    persist::OpenResult result;
    std::string error;
    auto reopened = persist::StateFile::Open(path, 1'800'000'100, &result, &error);
    REQUIRE(reopened != nullptr);
    CHECK(result.moved_aside.empty());
    CHECK(result.restored.has_value());
  }

  Peers peers;
  Ends ends;
  auto queue = MustOpenQueue(path);
  Forwarder forwarder(Fast(peers.Template()), queue.get(), ends.Callback(), ends.Waiting());
  forwarder.SetToken("token-after-restart");
  REQUIRE(WaitFor([&] { return peers.Delivered(0).size() == 2 && peers.Delivered(1).size() == 2; },
                  10s));
  CHECK(peers.Delivered(0) == std::vector<std::string>{Body(0), Body(2)});
  CHECK(peers.Delivered(1) == std::vector<std::string>{Body(1), Body(3)});
  CHECK(WaitFor([&] { return forwarder.Waiting() == 0 && ends.waiting() == 0; }, 5s));
  std::vector<persist::QueuedCall> stored;
  std::string error;
  REQUIRE(queue->Load(&stored, &error));
  CHECK(stored.empty());
  CHECK(ends.Count("custom_template", webhook::kDelivered) == 4);
}

TEST_CASE("a resumed call goes to the owner its job has with the shard count of now") {
  testsupport::TempDir dir;
  const std::string path = dir.File("state.db");
  auto state_file = MakeStateFile(path);
  auto queue = MustOpenQueue(path);
  // Stored by a run with 5 shards, for shard 4; this run has 2.
  const std::string id = "moved-job";
  persist::QueuedCall call{.shard = 4,
                           .kind = "aurora",
                           .body = R"({"id":")" + id + R"("})",
                           .received_at = static_cast<double>(std::time(nullptr))};
  std::string error;
  REQUIRE(queue->Add(&call, &error));
  Peers peers;
  Ends ends;
  auto options = Fast(peers.Template());
  options.total_shards = 2;
  Forwarder forwarder(options, queue.get(), ends.Callback(), ends.Waiting());
  const int owner = static_cast<int>(state::IdHash(id) % 2);
  REQUIRE(WaitFor([&] { return peers.Delivered(owner).size() == 1; }, 10s));
  CHECK(peers.Delivered(4).empty());
}

TEST_CASE("each way a call ends has its own result") {
  Ends ends;
  SUBCASE("a peer's 4xx refuses the call for good") {
    Peers peers;
    peers.SetStatus(1, 400);
    Forwarder forwarder(Fast(peers.Template()), nullptr, ends.Callback(), ends.Waiting());
    REQUIRE(forwarder.Forward(1, "aurora", Body(1)) == Forwarder::Queued::kQueued);
    REQUIRE(WaitFor([&] { return ends.Count("aurora", webhook::kRefused) == 1; }, 10s));
    CHECK(peers.Calls().size() == 1);
    CHECK(forwarder.Waiting() == 0);
  }
  SUBCASE("a call not delivered within its patience expires") {
    auto options = Fast(DownTemplate());
    options.patience = 300ms;
    Forwarder forwarder(options, nullptr, ends.Callback(), ends.Waiting());
    REQUIRE(forwarder.Forward(1, "aurora", Body(1)) == Forwarder::Queued::kQueued);
    REQUIRE(forwarder.Forward(1, "aurora", Body(2)) == Forwarder::Queued::kQueued);
    REQUIRE(WaitFor([&] { return ends.Count("aurora", webhook::kExpired) == 2; }, 10s));
    CHECK(ends.waiting() == 0);
  }
  SUBCASE("a full queue refuses the call at once") {
    auto options = Fast(DownTemplate());
    options.max_queue = 2;
    Forwarder forwarder(options, nullptr, ends.Callback(), ends.Waiting());
    CHECK(forwarder.Forward(1, "aurora", Body(1)) == Forwarder::Queued::kQueued);
    CHECK(forwarder.Forward(1, "aurora", Body(2)) == Forwarder::Queued::kQueued);
    CHECK(forwarder.Forward(1, "aurora", Body(3)) == Forwarder::Queued::kFull);
    // Another peer's queue is its own.
    CHECK(forwarder.Forward(2, "aurora", Body(4)) == Forwarder::Queued::kQueued);
  }
  SUBCASE("a call that cannot be stored is not queued") {
    BrokenQueue broken;
    Forwarder forwarder(Fast(DownTemplate()), &broken, ends.Callback(), ends.Waiting());
    CHECK(forwarder.Forward(1, "aurora", Body(1)) == Forwarder::Queued::kNotStored);
    CHECK(forwarder.Waiting() == 0);
    CHECK(ends.waiting() == 0);
  }
  SUBCASE("after a stop, nothing is queued") {
    Forwarder forwarder(Fast(DownTemplate()), nullptr, ends.Callback(), ends.Waiting());
    forwarder.Stop(0ms);
    CHECK(forwarder.Forward(1, "aurora", Body(1)) == Forwarder::Queued::kNotStored);
  }
}

TEST_CASE("without a state file, a stop sends what it can for a bounded time") {
  SUBCASE("a peer that answers gets its calls") {
    Peers peers;
    peers.Stall(0, true);
    Ends ends;
    Forwarder forwarder(Fast(peers.Template()), nullptr, ends.Callback(), ends.Waiting());
    for (int i = 0; i < 3; ++i) {
      REQUIRE(forwarder.Forward(0, "aurora", Body(i)) == Forwarder::Queued::kQueued);
    }
    peers.Stall(0, false);
    CHECK(forwarder.Stop(10s) == 0);
    CHECK(peers.Delivered(0).size() == 3);
  }
  SUBCASE("calls to a peer that is down are lost after the bound") {
    Ends ends;
    Forwarder forwarder(Fast(DownTemplate()), nullptr, ends.Callback(), ends.Waiting());
    REQUIRE(forwarder.Forward(0, "aurora", Body(0)) == Forwarder::Queued::kQueued);
    const auto start = std::chrono::steady_clock::now();
    CHECK(forwarder.Stop(300ms) == 1);
    CHECK(std::chrono::steady_clock::now() - start < testsupport::Scaled(5s));
  }
}

TEST_CASE("a stop cancels a send in progress") {
  Peers peers;
  peers.Stall(0, true);
  Ends ends;
  testsupport::TempDir dir;
  auto state_file = MakeStateFile(dir.File("state.db"));
  auto queue = MustOpenQueue(dir.File("state.db"));
  auto options = Fast(peers.Template());
  options.request_timeout = 60s;
  Forwarder forwarder(options, queue.get(), ends.Callback(), ends.Waiting());
  REQUIRE(forwarder.Forward(0, "aurora", Body(0)) == Forwarder::Queued::kQueued);
  // The peer holds the request: only a cancelled send lets the stop return before the timeout.
  REQUIRE(WaitFor([&] { return peers.Arrived() == 1; }, 5s));
  CHECK(peers.Calls().empty());
  const auto start = std::chrono::steady_clock::now();
  CHECK(forwarder.Stop(0ms) == 1);
  CHECK(std::chrono::steady_clock::now() - start < testsupport::Scaled(10s));
  peers.Stall(0, false);
}
