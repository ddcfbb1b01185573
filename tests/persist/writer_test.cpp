#include "persist/writer.h"

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <mutex>

#include "persist/fixture.h"
#include "support/process.h"

using creatify::Status;
using persist_test::kStart;
using state::Store;

namespace {

// A backend that records what it is asked to write and fails while told to.
class FakeBackend : public persist::Backend {
 public:
  bool Write(const state::Changes& changes, const state::Snapshot& snapshot,
             std::string* error) override {
    std::lock_guard<std::mutex> lock(mutex_);
    ++attempts_;
    if (failing_) {
      *error = "disk full";
    } else {
      for (const auto& op : changes.ops) written_ids_.push_back(op.id);
      last_generation_ = snapshot.generation;
    }
    changed_.notify_all();
    return !failing_;
  }

  void SetFailing(bool failing) {
    std::lock_guard<std::mutex> lock(mutex_);
    failing_ = failing;
  }
  // Waits until at least `n` writes were attempted.
  bool WaitForAttempts(int n) {
    std::unique_lock<std::mutex> lock(mutex_);
    return changed_.wait_for(lock, std::chrono::seconds(10), [&] { return attempts_ >= n; });
  }
  std::vector<std::string> written_ids() {
    std::lock_guard<std::mutex> lock(mutex_);
    return written_ids_;
  }
  uint64_t last_generation() {
    std::lock_guard<std::mutex> lock(mutex_);
    return last_generation_;
  }

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  bool failing_ = false;
  int attempts_ = 0;
  std::vector<std::string> written_ids_;
  uint64_t last_generation_ = 0;
};

state::PollCycle OneJob(double at, const std::string& id, Status status) {
  return persist_test::Cycle(at, {persist_test::Job(id, status, kStart + 1)});
}

}  // namespace

TEST_CASE("each notified Apply is written in the background, with the snapshot that holds it") {
  FakeBackend backend;
  Store store(persist_test::Options());
  persist::Writer writer(backend, store, [] { return kStart + 1; });
  store.OnPublish([&](const auto&) { writer.Notify(); });
  store.Apply(OneJob(kStart + 10, "a", Status::kRunning));
  REQUIRE(backend.WaitForAttempts(1));
  store.Apply(OneJob(kStart + 15, "b", Status::kRunning));
  REQUIRE(backend.WaitForAttempts(2));
  writer.Stop();
  CHECK(backend.written_ids() == std::vector<std::string>{"a", "b"});
  CHECK(backend.last_generation() == 2);
}

TEST_CASE("failed writes are counted, their changes kept, and written with the next success") {
  FakeBackend backend;
  Store store(persist_test::Options());
  double now = kStart + 1;
  persist::Writer writer(backend, store, [&] { return now; });
  backend.SetFailing(true);
  store.Apply(OneJob(kStart + 10, "a", Status::kRunning));
  CHECK_FALSE(writer.Flush());
  store.Apply(OneJob(kStart + 15, "b", Status::kRunning));
  CHECK_FALSE(writer.Flush());
  store.Apply(OneJob(kStart + 20, "c", Status::kRunning));  // publishes the errors so far
  CHECK(store.Current()->persistence.write_errors == 2);
  CHECK_FALSE(store.Current()->persistence.last_write);
  CHECK(backend.written_ids().empty());

  backend.SetFailing(false);
  now = kStart + 21;
  CHECK(writer.Flush());
  CHECK(backend.written_ids() == std::vector<std::string>{"a", "b", "c"});
  store.Apply(OneJob(kStart + 25, "d", Status::kRunning));
  CHECK(store.Current()->persistence.write_errors == 2);
  CHECK(store.Current()->persistence.last_write == kStart + 21);
}

TEST_CASE("Stop writes what is still pending, once") {
  FakeBackend backend;
  Store store(persist_test::Options());
  persist::Writer writer(backend, store, [] { return kStart; });
  // No Notify: only the final write on Stop can carry it.
  store.Apply(OneJob(kStart + 10, "last", Status::kDone));
  writer.Stop();
  CHECK(backend.written_ids() == std::vector<std::string>{"last"});
  writer.Stop();
  CHECK(backend.written_ids().size() == 1);
}

TEST_CASE("the writer writes a real state file that a new store restores") {
  testsupport::TempDir dir;
  const std::string path = dir.File("state.db");
  auto store = std::make_unique<Store>(persist_test::Options());
  {
    persist::OpenResult result;
    std::string error;
    auto file = persist::StateFile::Open(path, kStart, &result, &error);
    REQUIRE(file);
    persist::Writer writer(*file, *store, [] { return kStart; });
    store->OnPublish([&](const auto&) { writer.Notify(); });
    for (const auto& cycle : persist_test::BusyCycles()) store->Apply(cycle);
    writer.Stop();
    store->OnPublish(nullptr);
  }
  persist::OpenResult result;
  std::string error;
  auto file = persist::StateFile::Open(path, kStart + 900, &result, &error);
  REQUIRE(result.restored);
  Store restored(persist_test::Options(kStart + 900));
  restored.Restore(std::move(*result.restored));
  persist_test::CheckSameState(*store->Current(), *restored.Current());
}

TEST_CASE("while writes fail, what is shown keeps the counts on disk, and they catch up after") {
  FakeBackend backend;
  Store store(persist_test::Options());
  std::shared_ptr<const state::Snapshot> shown;
  persist::Writer writer(
      backend, store, [] { return kStart + 1; },
      [&](const std::shared_ptr<const state::Snapshot>& s) { shown = s; });
  store.Apply(OneJob(kStart + 10, "a", Status::kRunning));
  REQUIRE(writer.Flush());
  backend.SetFailing(true);
  store.Apply(OneJob(kStart + 15, "a", Status::kDone));
  CHECK_FALSE(writer.Flush());
  REQUIRE(shown);
  // The job is shown done (a gauge), but its count is not shown before it is on disk.
  CHECK(shown->FindKind("aurora")->jobs.at("a").status == Status::kDone);
  CHECK(shown->FindKind("aurora")->completed.at(Status::kDone) == 0);
  CHECK(store.Current()->FindKind("aurora")->completed.at(Status::kDone) == 1);
  backend.SetFailing(false);
  CHECK(writer.Flush());
  CHECK(shown->FindKind("aurora")->completed.at(Status::kDone) == 1);
}

// Counts the changes handed to each write.
class CountingBackend : public persist::Backend {
 public:
  bool Write(const state::Changes& changes, const state::Snapshot&, std::string* error) override {
    largest = std::max(largest, changes.ops.size());
    *error = "disk full";
    return false;
  }
  size_t largest = 0;
};

TEST_CASE("the changes kept through a long write outage stay bounded by the jobs") {
  CountingBackend backend;
  Store store(persist_test::Options());
  persist::Writer writer(backend, store, [] { return kStart; });
  for (int i = 0; i < 200; ++i) {
    const Status status = i % 2 == 0 ? Status::kRunning : Status::kPending;
    store.Apply(persist_test::Cycle(kStart + i, {persist_test::Job("a", status, kStart + 1),
                                                 persist_test::Job("b", status, kStart + 1)}));
    writer.Flush();
  }
  CHECK(backend.largest == 2);
  writer.Stop();
}
