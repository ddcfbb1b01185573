// The receiver's answers: valid JSON bodies, and the result each call is counted with when its
// job belongs to another replica.
#include "webhook/receiver.h"

#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include "webhook/broken_queue.h"

using webhook::Receiver;

namespace {

constexpr char kToken[] = "receiver-test-token-0123456789";

server::Request Post(const std::string& kind, const std::string& body) {
  return server::Request{.method = "POST",
                         .path = std::string(webhook::kPathPrefix) + kind + "/" + kToken,
                         .body = body};
}

double Counted(state::Store& store, const std::string& kind, std::string_view result) {
  store.PublishIfChanged();
  const auto snapshot = store.Current();
  auto it = snapshot->webhook_requests.find({kind, std::string(result)});
  return it == snapshot->webhook_requests.end() ? -1 : it->second;
}

// A job id that `shard` of `total` owns.
std::string IdOf(int shard, int total) {
  for (int i = 0;; ++i) {
    std::string id = "job-" + std::to_string(i);
    if (static_cast<int>(state::IdHash(id) % static_cast<uint64_t>(total)) == shard) return id;
  }
}

using webhook_test::BrokenQueue;

}  // namespace

TEST_CASE("a body without an id is answered 400 with a JSON body that names why") {
  state::Store store(state::StoreOptions{.kinds = {"ads_clone"}});
  poller::Hints hints;
  Receiver receiver(store, hints);
  receiver.Configure({.token = kToken, .kinds = {"ads_clone"}});
  for (const std::string body : {R"({"status":"done"})", R"({"id":5})", "[1,2]", "not json \""}) {
    const server::Response response = receiver.Handle(Post("ads_clone", body));
    CHECK(response.status == 400);
    const auto parsed = nlohmann::json::parse(response.body, nullptr, false);
    REQUIRE_MESSAGE(!parsed.is_discarded(), response.body);
    CHECK(parsed["error"].is_string());
    CHECK(!parsed["error"].get<std::string>().empty());
  }
  CHECK(Counted(store, "ads_clone", webhook::kBadRequest) == 4);
}

TEST_CASE("a call for another replica's job is forwarded, or refused with its own result") {
  state::Store store(state::StoreOptions{.kinds = {"ads_clone"}});
  poller::Hints hints;
  const poller::Shard shard{.index = 0, .total = 2};
  const std::string theirs = R"({"id":")" + IdOf(1, 2) + R"("})";

  SUBCASE("queued: 202 forwarded; a full queue: 503 forward_queue_full") {
    webhook::ForwarderOptions options{.url_template = "http://127.0.0.1:1/{shard}",
                                      .first_backoff = std::chrono::hours(1),
                                      .max_queue = 1};
    webhook::Forwarder forwarder(options, nullptr, nullptr);
    Receiver receiver(store, hints, shard, &forwarder);
    receiver.Configure({.token = kToken, .kinds = {"ads_clone"}});
    CHECK(receiver.Handle(Post("ads_clone", theirs)).status == 202);
    CHECK(receiver.Handle(Post("ads_clone", theirs)).status == 503);
    CHECK(Counted(store, "ads_clone", webhook::kForwarded) == 1);
    CHECK(Counted(store, "ads_clone", webhook::kForwardQueueFull) == 1);
    CHECK(Counted(store, "ads_clone", webhook::kForwardFailed) == 0);
  }
  SUBCASE("not stored: 503 forward_failed") {
    BrokenQueue broken;
    webhook::Forwarder forwarder({.url_template = "http://127.0.0.1:1/{shard}"}, &broken, nullptr);
    Receiver receiver(store, hints, shard, &forwarder);
    receiver.Configure({.token = kToken, .kinds = {"ads_clone"}});
    const server::Response response = receiver.Handle(Post("ads_clone", theirs));
    CHECK(response.status == 503);
    CHECK(!nlohmann::json::parse(response.body, nullptr, false).is_discarded());
    CHECK(Counted(store, "ads_clone", webhook::kForwardFailed) == 1);
    CHECK(Counted(store, "ads_clone", webhook::kForwardQueueFull) == 0);
  }
}
