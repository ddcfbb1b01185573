// The stage histogram (time queued and time running of the jobs first read queued) and the
// oldest unfinished job per status.
#include <doctest/doctest.h>

#include "state/store.h"

using creatify::Job;
using creatify::Status;
using state::KindPoll;
using state::PollCycle;
using state::Store;

namespace {

constexpr double kWatchStart = 1'700'000'000;
constexpr double kCreated = kWatchStart - 100;

Job MakeJob(std::string id, Status status, double created = kCreated,
            std::optional<double> updated = std::nullopt) {
  Job job;
  job.id = std::move(id);
  job.status = status;
  job.created_at = created;
  job.updated_at = updated ? *updated : created;
  job.credits_used = 1;
  return job;
}

PollCycle CycleAt(double at, std::vector<Job> jobs) {
  PollCycle cycle;
  cycle.up = true;
  cycle.finished_at = at;
  cycle.kinds.push_back({.kind = "aurora", .success = true, .jobs = std::move(jobs)});
  return cycle;
}

const state::KindSnapshot& Aurora(const std::shared_ptr<const state::Snapshot>& snapshot) {
  return *snapshot->FindKind("aurora");
}

const state::Histogram& Stage(const Store& store, const std::string& stage) {
  // The snapshot outlives the reference: the store keeps it as its current one until the next
  // Apply, and the tests read it before that.
  return Aurora(store.Current()).stage.at(stage);
}

}  // namespace

TEST_CASE("a job read queued, then running, then done is observed in both stages once") {
  Store store(state::StoreOptions{
      .kinds = {"aurora"}, .watching_since = kWatchStart, .record_changes = true});
  store.Apply(CycleAt(kWatchStart + 10, {MakeJob("a", Status::kPending)}));
  {
    const auto& record = Aurora(store.Current()).jobs.at("a");
    CHECK(record.seen_queued);
    CHECK(record.running_seen_at == 0);
  }
  store.Apply(CycleAt(kWatchStart + 20, {MakeJob("a", Status::kInQueue)}));
  store.TakeChanges();
  store.Apply(CycleAt(kWatchStart + 40, {MakeJob("a", Status::kRunning)}));
  CHECK(Aurora(store.Current()).jobs.at("a").running_seen_at == kWatchStart + 40);
  // Seen running again: when it was first seen running does not move.
  store.Apply(CycleAt(kWatchStart + 50, {MakeJob("a", Status::kRunning)}));
  CHECK(Aurora(store.Current()).jobs.at("a").running_seen_at == kWatchStart + 40);
  {
    // The record that took running_seen_at was written.
    state::Changes changes = store.TakeChanges();
    REQUIRE(changes.ops.size() == 1);
    CHECK(changes.ops[0].record->running_seen_at == kWatchStart + 40);
    CHECK(changes.ops[0].record->seen_queued);
  }
  CHECK(Stage(store, "queued").count() == 0);
  store.Apply(CycleAt(kWatchStart + 70, {MakeJob("a", Status::kDone, kCreated, kWatchStart + 65)}));
  store.Apply(CycleAt(kWatchStart + 80, {MakeJob("a", Status::kDone, kCreated, kWatchStart + 65)}));
  CHECK(Stage(store, "queued").count() == 1);
  CHECK(Stage(store, "queued").sum() == 140);
  CHECK(Stage(store, "running").count() == 1);
  CHECK(Stage(store, "running").sum() == 25);
  // queued + running is the processing time when a poll saw the job running.
  CHECK(Aurora(store.Current()).processing.at(Status::kDone).sum() == 165);
  CHECK(Aurora(store.Current()).jobs.at("a").running_seen_at == kWatchStart + 40);
}

TEST_CASE("a job read queued and next seen finished: queued until that poll, running 0") {
  Store store({"aurora"}, kWatchStart);
  store.Apply(CycleAt(kWatchStart + 10, {MakeJob("a", Status::kPending)}));
  // The poll ends after updated_at: the running stage is clamped at 0.
  store.Apply(
      CycleAt(kWatchStart + 70, {MakeJob("a", Status::kFailed, kCreated, kWatchStart + 65)}));
  CHECK(Aurora(store.Current()).jobs.at("a").running_seen_at == kWatchStart + 70);
  CHECK(Stage(store, "queued").count() == 1);
  CHECK(Stage(store, "queued").sum() == 170);
  CHECK(Stage(store, "running").count() == 1);
  CHECK(Stage(store, "running").sum() == 0);
}

TEST_CASE("a job first read running, finished or unknown is counted but not observed in stage") {
  Store store({"aurora"}, kWatchStart);
  Job unknown = MakeJob("unknown", Status::kUnknown, kWatchStart + 1);
  store.Apply(
      CycleAt(kWatchStart + 10, {MakeJob("running", Status::kRunning),
                                 MakeJob("done", Status::kDone, kWatchStart + 1), unknown}));
  {
    auto snapshot = store.Current();
    CHECK_FALSE(Aurora(snapshot).jobs.at("running").seen_queued);
    CHECK(Aurora(snapshot).jobs.at("running").running_seen_at == kWatchStart + 10);
    CHECK_FALSE(Aurora(snapshot).jobs.at("done").seen_queued);
    CHECK(Aurora(snapshot).jobs.at("done").running_seen_at == kWatchStart + 10);
    CHECK_FALSE(Aurora(snapshot).jobs.at("unknown").seen_queued);
    CHECK(Aurora(snapshot).jobs.at("unknown").running_seen_at == 0);
  }
  // Pending after unknown: the first read decided, it stays unobserved.
  store.Apply(CycleAt(kWatchStart + 20, {MakeJob("running", Status::kRunning),
                                         MakeJob("unknown", Status::kPending, kWatchStart + 1)}));
  store.Apply(CycleAt(kWatchStart + 30, {MakeJob("running", Status::kDone),
                                         MakeJob("unknown", Status::kDone, kWatchStart + 1)}));
  auto snapshot = store.Current();
  CHECK(Aurora(snapshot).completed.at(Status::kDone) == 3);
  CHECK(Aurora(snapshot).processing.at(Status::kDone).count() == 3);
  CHECK(Aurora(snapshot).stage.at("queued").count() == 0);
  CHECK(Aurora(snapshot).stage.at("running").count() == 0);
}

TEST_CASE("a job a webhook announced is observed when its first read sees it queued") {
  Store store({"aurora"}, kWatchStart);
  REQUIRE(store.AddJob("aurora", "queued") == state::AddResult::kAdded);
  REQUIRE(store.AddJob("aurora", "running") == state::AddResult::kAdded);
  CHECK_FALSE(Aurora(store.Current()).jobs.at("queued").seen_queued);
  store.Apply(CycleAt(kWatchStart + 10, {MakeJob("queued", Status::kInQueue, kWatchStart + 5),
                                         MakeJob("running", Status::kRunning, kWatchStart + 5)}));
  CHECK(Aurora(store.Current()).jobs.at("queued").seen_queued);
  CHECK_FALSE(Aurora(store.Current()).jobs.at("running").seen_queued);
  store.Apply(CycleAt(kWatchStart + 20, {MakeJob("queued", Status::kRunning, kWatchStart + 5),
                                         MakeJob("running", Status::kRunning, kWatchStart + 5)}));
  store.Apply(CycleAt(kWatchStart + 30,
                      {MakeJob("queued", Status::kDone, kWatchStart + 5, kWatchStart + 28),
                       MakeJob("running", Status::kDone, kWatchStart + 5, kWatchStart + 28)}));
  CHECK(Aurora(store.Current()).completed.at(Status::kDone) == 2);
  CHECK(Stage(store, "queued").count() == 1);
  CHECK(Stage(store, "queued").sum() == 15);
  CHECK(Stage(store, "running").sum() == 8);
}

TEST_CASE("a restored record and histograms continue: observed with the values kept") {
  state::RestoredState restored;
  restored.watching_since = kWatchStart;
  state::KindSnapshot counters;
  counters.name = "aurora";
  state::Histogram queued(state::StageBuckets());
  queued.Observe(7);
  counters.stage.emplace("queued", queued);
  // Other buckets (a different version's): not taken.
  counters.stage.emplace("running", state::Histogram({1, 2}));
  restored.counters.kinds.push_back(counters);
  state::JobRecord record;
  record.job = MakeJob("a", Status::kRunning);
  record.status = Status::kRunning;
  record.seen_queued = true;
  record.running_seen_at = kWatchStart + 40;
  restored.jobs.emplace_back("aurora", record);

  Store store({"aurora"}, kWatchStart);
  store.Restore(std::move(restored));
  CHECK(Stage(store, "queued").count() == 1);
  CHECK(Stage(store, "running").count() == 0);
  CHECK(Stage(store, "running").upper_bounds() == state::StageBuckets());
  store.Apply(CycleAt(kWatchStart + 500, {MakeJob("a", Status::kRunning)}));
  CHECK(Aurora(store.Current()).jobs.at("a").running_seen_at == kWatchStart + 40);
  store.Apply(
      CycleAt(kWatchStart + 600, {MakeJob("a", Status::kDone, kCreated, kWatchStart + 590)}));
  CHECK(Stage(store, "queued").count() == 2);
  CHECK(Stage(store, "queued").sum() == 7 + 140);
  CHECK(Stage(store, "running").count() == 1);
  CHECK(Stage(store, "running").sum() == 550);
}

TEST_CASE("durable counters carry the stage histograms") {
  Store store({"aurora"}, kWatchStart);
  store.Apply(CycleAt(kWatchStart + 10, {MakeJob("a", Status::kPending)}));
  auto durable = store.Current();
  store.Apply(CycleAt(kWatchStart + 20, {MakeJob("a", Status::kDone, kCreated, kWatchStart + 15)}));
  auto live = store.Current();
  REQUIRE(Aurora(live).stage.at("queued").count() == 1);
  const state::Snapshot shown = state::WithDurableCounters(*live, *durable);
  CHECK(shown.FindKind("aurora")->stage.at("queued").count() == 0);
  CHECK(shown.FindKind("aurora")->stage.at("running").count() == 0);
}

TEST_CASE("the oldest unfinished job per status: read jobs with a created_at, absent when none") {
  Store store({"aurora", "ads_clone"}, kWatchStart);
  CHECK(Aurora(store.Current()).oldest_unfinished.empty());
  REQUIRE(store.AddJob("aurora", "announced") == state::AddResult::kAdded);
  Job undated = MakeJob("undated", Status::kPending);
  undated.created_at.reset();
  Job unknown = MakeJob("unknown", Status::kUnknown, kWatchStart - 30);
  store.Apply(CycleAt(kWatchStart + 10,
                      {MakeJob("p1", Status::kPending, kWatchStart - 50),
                       MakeJob("p2", Status::kPending, kWatchStart - 80),
                       MakeJob("q1", Status::kInQueue, kWatchStart - 70),
                       MakeJob("r1", Status::kRunning, kWatchStart - 60),
                       MakeJob("d1", Status::kDone, kWatchStart - 500), undated, unknown}));
  auto snapshot = store.Current();
  const std::map<Status, double> expected = {{Status::kPending, kWatchStart - 80},
                                             {Status::kInQueue, kWatchStart - 70},
                                             {Status::kRunning, kWatchStart - 60},
                                             {Status::kUnknown, kWatchStart - 30}};
  CHECK(Aurora(snapshot).oldest_unfinished == expected);
  CHECK(snapshot->FindKind("ads_clone")->oldest_unfinished.empty());

  SUBCASE("recomputed after a change of the kind's jobs") {
    store.Apply(CycleAt(kWatchStart + 20, {MakeJob("p1", Status::kPending, kWatchStart - 50),
                                           MakeJob("p2", Status::kRunning, kWatchStart - 80),
                                           MakeJob("q1", Status::kDone, kWatchStart - 70),
                                           MakeJob("r1", Status::kRunning, kWatchStart - 60)}));
    const std::map<Status, double> after = {{Status::kPending, kWatchStart - 50},
                                            {Status::kRunning, kWatchStart - 80},
                                            {Status::kUnknown, kWatchStart - 30}};
    CHECK(Aurora(store.Current()).oldest_unfinished == after);
  }
  SUBCASE("kept as it was when the kind's jobs did not change") {
    store.Apply(CycleAt(kWatchStart + 20, {}));
    auto again = store.Current();
    CHECK(Aurora(again).jobs.entries().data() == Aurora(snapshot).jobs.entries().data());
    CHECK(Aurora(again).oldest_unfinished == expected);
  }
}
