// Webhook calls that reach a replica which does not own their job, handed to the owner by the
// real binaries: a peer that is down for a while, the forwarding replica stopped or killed with
// calls waiting, a token rotated while calls wait, and one peer that hangs while another answers.
#include <arpa/inet.h>
#include <doctest/doctest.h>
#include <fcntl.h>
#include <httplib.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <csignal>

#include "integration/harness.h"
#include "state/store.h"

using e2e::Exporter;
using testsupport::WaitFor;

namespace {

using namespace std::chrono_literals;

constexpr char kToken[] = "forwarding-test-token-0123456789";

// A port free on 127.0.0.10; the replicas listen on 127.0.0.1{shard} with it, so that one
// --shard.peer-url template names each of them.
int FreeLoopbackPort() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  REQUIRE(fd >= 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  REQUIRE(::inet_pton(AF_INET, "127.0.0.10", &addr.sin_addr) == 1);
  REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
  socklen_t length = sizeof addr;
  REQUIRE(::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &length) == 0);
  ::close(fd);
  return ntohs(addr.sin_port);
}

// Job ids that replica `shard` of `total` owns.
std::vector<std::string> IdsOf(int shard, int total, int count) {
  std::vector<std::string> ids;
  for (int i = 0; static_cast<int>(ids.size()) < count; ++i) {
    std::string id = "fwd-job-" + std::to_string(i);
    if (static_cast<int>(state::IdHash(id) % static_cast<uint64_t>(total)) == shard) {
      ids.push_back(id);
    }
  }
  return ids;
}

// Replicas of `total` shards on 127.0.0.1{shard}:port, each with its own directory and state
// file, against one simulator that knows none of the jobs (they are known by their webhooks).
class Replicas {
 public:
  explicit Replicas(int total) : total_(total), port_(FreeLoopbackPort()) {
    simulator_ = std::make_unique<e2e::Simulator>(
        sim_dir_, std::vector<std::string>{"--ads-clone-jobs=0", "--custom-template-jobs=0",
                                           "--aurora-jobs=0"});
    REQUIRE(simulator_->port > 0);
    for (int i = 0; i < total; ++i) dirs_.push_back(std::make_unique<testsupport::TempDir>());
    replicas_.resize(static_cast<size_t>(total));
  }

  std::string Config(const std::string& token, int shard) const {
    return e2e::WithState("api:\n  base_url: http://127.0.0.1:" + std::to_string(simulator_->port) +
                              "\n  timeout: 2s\npoll_interval: 1h\nads_clone: {}\n"
                              "custom_template_jobs:\n  enabled: false\naurora:\n  enabled: false\n"
                              "webhook:\n  token: " +
                              token + "\n",
                          dirs_[static_cast<size_t>(shard)]->File("state.db"));
  }

  Exporter& Start(int shard, const std::string& token = kToken) {
    auto& slot = replicas_[static_cast<size_t>(shard)];
    slot.reset();
    slot = std::make_unique<Exporter>(
        *dirs_[static_cast<size_t>(shard)], Config(token, shard),
        std::vector<std::string>{
            "--total-shards=" + std::to_string(total_), "--shard=" + std::to_string(shard),
            "--shard.peer-url=http://127.0.0.1{shard}:" + std::to_string(port_),
            "--web.listen-address=127.0.0.1" + std::to_string(shard) + ":" +
                std::to_string(port_)});
    REQUIRE(slot->port == port_);
    return *slot;
  }
  // Stops replica `shard` with `signal` (SIGKILL: no shut-down at all).
  void Stop(int shard, int signal = SIGTERM) {
    auto& slot = replicas_[static_cast<size_t>(shard)];
    slot->process->Stop(signal);
    slot.reset();
  }
  Exporter& operator[](int shard) { return *replicas_[static_cast<size_t>(shard)]; }
  const testsupport::TempDir& dir(int shard) const { return *dirs_[static_cast<size_t>(shard)]; }
  int port() const { return port_; }

  // POSTs webhook calls for `ids` to replica `shard`; each must be answered 202.
  void Send(int shard, const std::vector<std::string>& ids, const std::string& token = kToken) {
    httplib::Client client("127.0.0.1" + std::to_string(shard), port_);
    for (const auto& id : ids) {
      auto result = client.Post("/webhook/ads_clone/" + token, R"({"id":")" + id + R"("})",
                                "application/json");
      REQUIRE(result);
      CHECK(result->status == 202);
    }
  }

  // What replica `shard` counted for its own calls (webhooks it accepted).
  double Accepted(int shard) {
    return (*this)[shard].Metrics().Sum("creatify_exporter_webhook_requests_total",
                                        {{"result", "accepted"}});
  }
  double Forwards(int shard, const std::string& result) {
    return (*this)[shard].Metrics().Sum("creatify_exporter_webhook_forwards_total",
                                        {{"result", result}});
  }
  double Waiting(int shard) {
    return (*this)[shard]
        .Metrics()
        .Value("creatify_exporter_webhook_forwards_waiting")
        .value_or(-1);
  }

 private:
  const int total_;
  const int port_;
  testsupport::TempDir sim_dir_;
  std::unique_ptr<e2e::Simulator> simulator_;
  std::vector<std::unique_ptr<testsupport::TempDir>> dirs_;
  std::vector<std::unique_ptr<Exporter>> replicas_;
};

// A listener on 127.0.0.1{shard}:port whose accept queue is full: a connect to it neither
// succeeds nor is refused (a replica that hangs).
class HangingPeer {
 public:
  HangingPeer(int shard, int port) {
    listener_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(port));
    const std::string host = "127.0.0.1" + std::to_string(shard);
    REQUIRE(::inet_pton(AF_INET, host.c_str(), &addr.sin_addr) == 1);
    REQUIRE(::bind(listener_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
    REQUIRE(::listen(listener_, 0) == 0);
    for (int i = 0; i < 3; ++i) {
      const int filler = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
      ::connect(filler, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
      fillers_.push_back(filler);
    }
  }
  ~HangingPeer() {
    for (int filler : fillers_) ::close(filler);
    ::close(listener_);
  }
  HangingPeer(const HangingPeer&) = delete;
  HangingPeer& operator=(const HangingPeer&) = delete;

 private:
  int listener_ = -1;
  std::vector<int> fillers_;
};

}  // namespace

TEST_CASE("a peer that is down, then up, gets the calls that waited for it") {
  Replicas replicas(2);
  replicas.Start(0);
  const auto ids = IdsOf(1, 2, 5);
  replicas.Send(0, ids);
  CHECK(WaitFor([&] { return replicas.Waiting(0) == 5; }, 10s));
  replicas.Start(1);
  INFO("replica 0 log:\n", replicas[0].process->Log());
  CHECK(WaitFor([&] { return replicas.Accepted(1) == 5; }, 60s));
  CHECK(WaitFor([&] { return replicas.Forwards(0, "delivered") == 5; }, 10s));
  CHECK(replicas.Waiting(0) == 0);
  CHECK(replicas.Forwards(0, "refused") == 0);
  CHECK(replicas.Forwards(0, "expired") == 0);
}

TEST_CASE(
    "calls waiting when the forwarding replica stops or is killed are sent after it restarts") {
  for (const int signal : {SIGTERM, SIGKILL}) {
    CAPTURE(signal);
    Replicas replicas(2);
    replicas.Start(0);
    const auto ids = IdsOf(1, 2, 4);
    replicas.Send(0, ids);
    CHECK(WaitFor([&] { return replicas.Waiting(0) == 4; }, 10s));
    replicas.Stop(0, signal);
    // The peer comes up while the forwarding replica is away; it gets the calls once it is back.
    replicas.Start(1);
    replicas.Start(0);
    INFO("replica 0 log:\n", replicas[0].process->Log());
    CHECK(WaitFor([&] { return replicas.Accepted(1) == 4; }, 60s));
    CHECK(WaitFor([&] { return replicas.Waiting(0) == 0; }, 10s));
    if (signal == SIGTERM) {
      // The counts written at the stop carry on; the delivered ones are counted after it.
      CHECK(replicas[0].Metrics().Sum("creatify_exporter_webhook_requests_total",
                                      {{"result", "forwarded"}}) == 4);
      CHECK(WaitFor([&] { return replicas.Forwards(0, "delivered") == 4; }, 10s));
    }
  }
}

TEST_CASE("calls waiting when the token is rotated are delivered with the new token") {
  Replicas replicas(2);
  replicas.Start(0, "old-token-0123456789abcdef");
  const auto ids = IdsOf(1, 2, 3);
  replicas.Send(0, ids, "old-token-0123456789abcdef");
  CHECK(WaitFor([&] { return replicas.Waiting(0) == 3; }, 10s));
  // Rotated on replica 0 by a reload, and the peer starts with the new token only.
  testsupport::WriteFile(replicas.dir(0).File("exporter.yaml"),
                         replicas.Config("new-token-0123456789abcdef", 0));
  httplib::Client client("127.0.0.10", replicas.port());
  auto reload = client.Post("/-/reload", "", "text/plain");
  REQUIRE(reload);
  REQUIRE(reload->status == 200);
  replicas.Start(1, "new-token-0123456789abcdef");
  INFO("replica 0 log:\n", replicas[0].process->Log());
  CHECK(WaitFor([&] { return replicas.Accepted(1) == 3; }, 60s));
  CHECK(WaitFor([&] { return replicas.Forwards(0, "delivered") == 3; }, 10s));
  CHECK(replicas.Forwards(0, "refused") == 0);
  CHECK(replicas[1].Metrics().Sum("creatify_exporter_webhook_requests_total",
                                  {{"result", "unauthorized"}}) == 0);
}

TEST_CASE("with one peer hanging, the calls to another are delivered at once") {
  Replicas replicas(3);
  replicas.Start(0);
  replicas.Start(1);
  HangingPeer hanging(2, replicas.port());
  // The hanging peer's calls come first: one queue for all peers would try each of them (a
  // connect timeout of 2 s apiece) before the first call for replica 1.
  const auto stuck = IdsOf(2, 3, 5);
  const auto ids = IdsOf(1, 3, 5);
  const auto start = std::chrono::steady_clock::now();
  replicas.Send(0, stuck);
  replicas.Send(0, ids);
  INFO("replica 0 log:\n", replicas[0].process->Log());
  REQUIRE(WaitFor([&] { return replicas.Accepted(1) == 5; }, 30s));
  CHECK(std::chrono::steady_clock::now() - start < 4s);
  // The peer may have answered the last call before replica 0 counted it.
  CHECK(WaitFor([&] { return replicas.Forwards(0, "delivered") == 5; }, 10s));
  CHECK(replicas.Waiting(0) == 5);
}
