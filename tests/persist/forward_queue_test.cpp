// The webhook calls to forward in the state file: stored in order, read back whole, deleted, and
// living beside the state without disturbing its restore; and the forwarding counters persisted.
#include "persist/forward_queue.h"

#include <doctest/doctest.h>

#include "persist/fixture.h"
#include "persist/state_file.h"
#include "support/process.h"

using persist::QueuedCall;
using persist_test::kStart;

namespace {

std::unique_ptr<persist::StateFile> MustOpenState(const std::string& path, double now,
                                                  persist::OpenResult* result) {
  std::string error;
  auto file = persist::StateFile::Open(path, now, result, &error);
  REQUIRE_MESSAGE(file != nullptr, error);
  return file;
}

std::unique_ptr<persist::ForwardQueue> MustOpenQueue(const std::string& path) {
  std::string error;
  auto queue = persist::OpenForwardQueue(path, &error);
  REQUIRE_MESSAGE(queue != nullptr, error);
  return queue;
}

std::vector<QueuedCall> LoadAll(persist::ForwardQueue& queue) {
  std::vector<QueuedCall> calls;
  std::string error;
  REQUIRE_MESSAGE(queue.Load(&calls, &error), error);
  return calls;
}

}  // namespace

TEST_CASE("calls are stored in order, read back whole, and deleted one by one") {
  testsupport::TempDir dir;
  const std::string path = dir.File("state.db");
  persist::OpenResult opened;
  auto state_file = MustOpenState(path, kStart, &opened);
  auto queue = MustOpenQueue(path);
  // A body is kept byte for byte, NUL and invalid UTF-8 included.
  const std::string odd_body("{\"id\":\"x\"}\0\xff\xfe", 13);
  std::vector<int64_t> seqs;
  for (int i = 0; i < 3; ++i) {
    QueuedCall call{.shard = i + 1,
                    .kind = i == 1 ? "aurora" : "ads_clone",
                    .body = i == 2 ? odd_body : "{\"id\":\"" + std::to_string(i) + "\"}",
                    .received_at = kStart + i};
    std::string error;
    REQUIRE_MESSAGE(queue->Add(&call, &error), error);
    seqs.push_back(call.seq);
  }
  CHECK(seqs[0] < seqs[1]);
  CHECK(seqs[1] < seqs[2]);

  auto calls = LoadAll(*MustOpenQueue(path));
  REQUIRE(calls.size() == 3);
  CHECK(calls[0].seq == seqs[0]);
  CHECK(calls[0].shard == 1);
  CHECK(calls[0].kind == "ads_clone");
  CHECK(calls[0].body == "{\"id\":\"0\"}");
  CHECK(calls[1].kind == "aurora");
  CHECK(calls[2].body == odd_body);
  CHECK(calls[2].received_at == kStart + 2);

  std::string error;
  REQUIRE(queue->Remove(seqs[1], &error));
  // A call already gone is not an error (a delivery after a failed delete).
  REQUIRE(queue->Remove(seqs[1], &error));
  calls = LoadAll(*queue);
  REQUIRE(calls.size() == 2);
  CHECK(calls[0].seq == seqs[0]);
  CHECK(calls[1].seq == seqs[2]);
}

TEST_CASE("a state file with calls in it is restored as it was, calls and all") {
  testsupport::TempDir dir;
  const std::string path = dir.File("state.db");
  state::Store store(persist_test::Options());
  {
    persist::OpenResult opened;
    auto state_file = MustOpenState(path, kStart, &opened);
    auto queue = MustOpenQueue(path);
    QueuedCall call{.shard = 2, .kind = "aurora", .body = "{}", .received_at = kStart};
    std::string error;
    REQUIRE(queue->Add(&call, &error));
    // State writes go on beside the queue's connection.
    for (const auto& cycle : persist_test::BusyCycles()) {
      store.Apply(cycle);
      persist_test::WriteChanges(store, *state_file);
    }
  }
  persist::OpenResult result;
  auto state_file = MustOpenState(path, kStart + 5000, &result);
  REQUIRE(result.restored);
  CHECK(result.moved_aside.empty());
  state::Store restored(persist_test::Options(kStart + 5000));
  restored.Restore(std::move(*result.restored));
  persist_test::CheckSameState(*store.Current(), *restored.Current());
  CHECK(LoadAll(*MustOpenQueue(path)).size() == 1);
}

TEST_CASE("the forwarding counters survive a reopen") {
  testsupport::TempDir dir;
  const std::string path = dir.File("state.db");
  state::Store store(persist_test::Options());
  store.CountWebhookForward("aurora", "delivered", 7);
  store.CountWebhookForward("aurora", "expired", 1);
  store.CountWebhookForward("ads_clone", "refused", 2);
  store.PublishIfChanged();
  {
    persist::OpenResult opened;
    auto state_file = MustOpenState(path, kStart, &opened);
    persist_test::WriteChanges(store, *state_file);
  }
  persist::OpenResult result;
  auto state_file = MustOpenState(path, kStart + 10, &result);
  REQUIRE(result.restored);
  state::Store restored(persist_test::Options());
  restored.Restore(std::move(*result.restored));
  restored.PublishIfChanged();
  CHECK(restored.Current()->webhook_forwards == store.Current()->webhook_forwards);
  CHECK(restored.Current()->webhook_forwards.at({"aurora", "delivered"}) == 7);
}

TEST_CASE("no queue on a file that is not there: calls stored elsewhere would never be resumed") {
  testsupport::TempDir dir;
  std::string error;
  CHECK(persist::OpenForwardQueue(dir.File("missing.db"), &error) == nullptr);
  CHECK(error.find("missing.db") != std::string::npos);
}
