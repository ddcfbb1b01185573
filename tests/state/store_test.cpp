#include "state/store.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <cstdlib>
#include <map>
#include <random>
#include <set>

#include "state/series.h"

using creatify::Job;
using creatify::Status;
using state::KindPoll;
using state::PollCycle;
using state::Store;

namespace {

constexpr double kWatchStart = 1'700'000'000;

// Whether a record type keeps an answer's failed_reason among its job fields.
template <typename Record>
constexpr bool kKeepsFailedReason = requires(const Record& record) {
  record.job.failed_reason;
};

Job MakeJob(std::string id, Status status, double created = kWatchStart - 100,
            std::optional<double> credits = 0.0) {
  Job job;
  job.id = std::move(id);
  job.status = status;
  job.created_at = created;
  job.updated_at = created + 90;
  job.credits_used = credits;
  return job;
}

PollCycle Cycle(std::vector<Job> jobs, std::string kind = "aurora", bool complete = false) {
  PollCycle cycle;
  cycle.up = true;
  cycle.finished_at = kWatchStart + 10;
  KindPoll poll;
  poll.kind = std::move(kind);
  poll.success = true;
  poll.complete_listing = complete;
  poll.jobs = std::move(jobs);
  cycle.kinds.push_back(std::move(poll));
  return cycle;
}

double Completed(const Store& store, Status status, std::string_view kind = "aurora") {
  return store.Current()->FindKind(kind)->completed.at(status);
}

}  // namespace

TEST_CASE("a job seen running and then done is counted once with its credits and time") {
  Store store({"aurora"}, kWatchStart);
  store.Apply(Cycle({MakeJob("a", Status::kRunning)}));
  CHECK(Completed(store, Status::kDone) == 0);
  store.Apply(Cycle({MakeJob("a", Status::kDone, kWatchStart - 100, 12.5)}));
  store.Apply(Cycle({MakeJob("a", Status::kDone, kWatchStart - 100, 12.5)}));
  auto snapshot = store.Current();
  const auto* kind = snapshot->FindKind("aurora");
  CHECK(kind->completed.at(Status::kDone) == 1);
  CHECK(kind->completed.at(Status::kFailed) == 0);
  CHECK(kind->credits_used == 12.5);
  CHECK(kind->processing.at(Status::kDone).count() == 1);
  CHECK(kind->processing.at(Status::kDone).sum() == 90);
  CHECK(kind->jobs.at("a").status == Status::kDone);
}

TEST_CASE("a job listed twice in one cycle is counted once") {
  Store store({"aurora"}, kWatchStart);
  store.Apply(Cycle({MakeJob("a", Status::kPending)}));
  store.Apply(Cycle({MakeJob("a", Status::kFailed, kWatchStart - 100, 3),
                     MakeJob("a", Status::kFailed, kWatchStart - 100, 3)}));
  CHECK(Completed(store, Status::kFailed) == 1);
  CHECK(store.Current()->FindKind("aurora")->credits_used == 3);
}

TEST_CASE("a job already terminal when first seen is counted only if created after start") {
  Store store({"aurora"}, kWatchStart);
  store.Apply(Cycle({MakeJob("old", Status::kDone, kWatchStart - 1, 5),
                     MakeJob("new", Status::kRejected, kWatchStart + 1, 7),
                     MakeJob("undated", Status::kDone, kWatchStart, 1)}));
  // "undated": created exactly at the start counts; a job with no created_at never does (it is
  // put off a few answers first, in the hope of one that has it).
  Job no_date = MakeJob("no-date", Status::kDone);
  no_date.created_at.reset();
  for (int i = 0; i <= state::kMaxTerminalDeferrals; ++i) store.Apply(Cycle({no_date}));
  CHECK(Completed(store, Status::kDone) == 1);
  CHECK(Completed(store, Status::kRejected) == 1);
  CHECK(store.Current()->FindKind("aurora")->credits_used == 8);
  CHECK(store.Current()->FindKind("aurora")->jobs.size() == 4);
}

TEST_CASE("a response without a usable status keeps the last known status") {
  Store store({"aurora"}, kWatchStart);
  store.Apply(Cycle({MakeJob("a", Status::kRunning)}));
  Job no_status = MakeJob("a", Status::kRunning);
  no_status.status.reset();
  no_status.progress = 0.5;
  store.Apply(Cycle({no_status}));
  auto snapshot = store.Current();
  CHECK(snapshot->FindKind("aurora")->jobs.at("a").status == Status::kRunning);
  CHECK(snapshot->FindKind("aurora")->jobs.at("a").job.progress == 0.5);
  // A new job with no status is tracked as unknown.
  Job fresh = MakeJob("b", Status::kRunning);
  fresh.status.reset();
  store.Apply(Cycle({fresh}));
  CHECK(store.Current()->FindKind("aurora")->jobs.at("b").status == Status::kUnknown);
}

TEST_CASE("a terminal job does not change again") {
  Store store({"aurora"}, kWatchStart);
  store.Apply(Cycle({MakeJob("a", Status::kRunning)}));
  store.Apply(Cycle({MakeJob("a", Status::kDone, kWatchStart - 100, 4)}));
  store.Apply(Cycle({MakeJob("a", Status::kFailed, kWatchStart - 100, 40)}));
  auto kind = store.Current()->FindKind("aurora");
  CHECK(kind->jobs.at("a").status == Status::kDone);
  CHECK(kind->jobs.at("a").job.credits_used == 4);
  CHECK(kind->completed.at(Status::kFailed) == 0);
  CHECK(kind->credits_used == 4);
}

TEST_CASE(
    "a complete listing drops unfinished jobs that no longer exist, a failed one keeps them") {
  Store store({"aurora"}, kWatchStart);
  store.Apply(
      Cycle({MakeJob("a", Status::kRunning), MakeJob("b", Status::kRunning)}, "aurora", true));
  PollCycle failed = Cycle({}, "aurora", true);
  failed.up = false;
  failed.kinds[0].success = false;
  store.Apply(failed);
  CHECK(store.Current()->FindKind("aurora")->jobs.size() == 2);
  CHECK_FALSE(store.Current()->up);
  store.Apply(Cycle({MakeJob("b", Status::kRunning)}, "aurora", true));
  CHECK(store.Current()->FindKind("aurora")->jobs.size() == 1);
  CHECK(store.Current()->FindKind("aurora")->jobs.contains("b"));
  // A listing filtered by ids is not complete: nothing is dropped.
  store.Apply(Cycle({}, "aurora", false));
  CHECK(store.Current()->FindKind("aurora")->jobs.size() == 1);
  // A finished job stays when it vanishes, so that it is never counted twice if it comes back.
  store.Apply(Cycle({MakeJob("b", Status::kDone, kWatchStart + 1, 2)}, "aurora", true));
  store.Apply(Cycle({}, "aurora", true));
  store.Apply(Cycle({MakeJob("b", Status::kDone, kWatchStart + 1, 2)}, "aurora", true));
  CHECK(store.Current()->FindKind("aurora")->jobs.size() == 1);
  CHECK(Completed(store, Status::kDone) == 1);
}

TEST_CASE("snapshots are immutable and the last known values survive failures") {
  Store store({"aurora"}, kWatchStart);
  PollCycle first = Cycle({MakeJob("a", Status::kRunning)});
  first.remaining_credits = 100;
  store.Apply(first);
  auto before = store.Current();
  PollCycle outage;
  outage.up = false;
  outage.finished_at = kWatchStart + 20;
  outage.requests.push_back({"aurora", "timeout", 10});
  KindPoll failed_poll;
  failed_poll.kind = "aurora";
  failed_poll.success = false;
  outage.kinds.push_back(failed_poll);
  store.Apply(outage);
  auto after = store.Current();
  CHECK(before->generation + 1 == after->generation);
  CHECK(before->up);
  CHECK(before->api_requests.empty());
  CHECK_FALSE(after->up);
  CHECK(after->remaining_credits == 100);
  CHECK(after->FindKind("aurora")->jobs.size() == 1);
  CHECK(after->FindKind("aurora")->last_success == kWatchStart + 10);
  CHECK(after->api_requests.at({"aurora", "timeout"}) == 1);
}

TEST_CASE("before any poll every active kind is present with zeros") {
  Store store({"ads_clone", "aurora"}, kWatchStart);
  auto snapshot = store.Current();
  CHECK_FALSE(snapshot->polled);
  REQUIRE(snapshot->kinds.size() == 2);
  CHECK(snapshot->kinds[0].name == "ads_clone");
  CHECK(snapshot->kinds[0].completed.size() == 3);
  CHECK(snapshot->FindKind("custom_template") == nullptr);
}

TEST_CASE("counters never decrease over random sequences of polls") {
  std::mt19937 rng(42);
  const std::vector<Status> statuses(creatify::kAllStatuses.begin(), creatify::kAllStatuses.end());
  for (int round = 0; round < 20; ++round) {
    Store store({"aurora"}, kWatchStart);
    std::map<Status, double> last;
    double last_credits = 0;
    for (int step = 0; step < 50; ++step) {
      std::vector<Job> jobs;
      for (int j = 0; j < 8; ++j) {
        if (rng() % 3 == 0) continue;
        Status status = statuses[rng() % statuses.size()];
        jobs.push_back(MakeJob("job-" + std::to_string(j), status,
                               kWatchStart + static_cast<double>(rng() % 200) - 100,
                               static_cast<double>(rng() % 10)));
      }
      PollCycle cycle = Cycle(jobs, "aurora", rng() % 2 == 0);
      store.Apply(cycle);
      auto kind = store.Current()->FindKind("aurora");
      double total = 0;
      for (Status status : creatify::kTerminalStatuses) {
        CHECK(kind->completed.at(status) >= last[status]);
        last[status] = kind->completed.at(status);
        total += kind->completed.at(status);
        CHECK(kind->processing.at(status).count() <= kind->completed.at(status));
      }
      // Once per job: never more completions than distinct jobs.
      CHECK(total <= 8);
      CHECK(kind->credits_used >= last_credits);
      last_credits = kind->credits_used;
    }
  }
}

TEST_CASE("a terminal transition with malformed fields waits for a clean answer, a while") {
  Store store({"aurora"}, kWatchStart);
  store.Apply(Cycle({MakeJob("a", Status::kRunning)}));
  Job broken = MakeJob("a", Status::kDone);
  broken.invalid_fields = {"credits_used"};
  store.Apply(Cycle({broken}));
  CHECK(store.Current()->FindKind("aurora")->jobs.at("a").status == Status::kRunning);
  CHECK(Completed(store, Status::kDone) == 0);
  store.Apply(Cycle({MakeJob("a", Status::kDone, kWatchStart - 100, 42)}));
  CHECK(Completed(store, Status::kDone) == 1);
  CHECK(store.Current()->FindKind("aurora")->credits_used == 42);
  CHECK(store.Current()->FindKind("aurora")->deferred.empty());

  // A field that stays malformed does not hold the job back for ever.
  store.Apply(Cycle({MakeJob("b", Status::kRunning)}));
  Job always_broken = MakeJob("b", Status::kFailed);
  always_broken.invalid_fields = {"updated_at"};
  for (int i = 0; i < state::kMaxTerminalDeferrals; ++i) {
    store.Apply(Cycle({always_broken}));
    CHECK(Completed(store, Status::kFailed) == 0);
  }
  store.Apply(Cycle({always_broken}));
  CHECK(Completed(store, Status::kFailed) == 1);

  // A malformed field that the counters do not use does not hold the transition back.
  store.Apply(Cycle({MakeJob("c", Status::kRunning)}));
  Job odd_progress = MakeJob("c", Status::kRejected);
  odd_progress.invalid_fields = {"progress", "name"};
  store.Apply(Cycle({odd_progress}));
  CHECK(Completed(store, Status::kRejected) == 1);
}

TEST_CASE(
    "a terminal answer with credits_used or a time null or missing waits like a malformed one") {
  Store store({"aurora"}, kWatchStart);
  // credits_used null, then the real value: counted once, with it.
  store.Apply(Cycle({MakeJob("a", Status::kRunning)}));
  store.Apply(Cycle({MakeJob("a", Status::kDone, kWatchStart - 100, std::nullopt)}));
  CHECK(Completed(store, Status::kDone) == 0);
  CHECK(store.Current()->FindKind("aurora")->jobs.at("a").status == Status::kRunning);
  store.Apply(Cycle({MakeJob("a", Status::kDone, kWatchStart - 100, 42)}));
  CHECK(Completed(store, Status::kDone) == 1);
  CHECK(store.Current()->FindKind("aurora")->credits_used == 42);

  // updated_at missing for good: counted after kMaxTerminalDeferrals answers, without a time.
  store.Apply(Cycle({MakeJob("b", Status::kRunning)}));
  Job no_update = MakeJob("b", Status::kFailed, kWatchStart - 100, 2);
  no_update.updated_at.reset();
  for (int i = 0; i < state::kMaxTerminalDeferrals; ++i) {
    store.Apply(Cycle({no_update}));
    CHECK(Completed(store, Status::kFailed) == 0);
  }
  store.Apply(Cycle({no_update}));
  CHECK(Completed(store, Status::kFailed) == 1);
  CHECK(store.Current()->FindKind("aurora")->credits_used == 44);
  CHECK(store.Current()->FindKind("aurora")->processing.at(Status::kFailed).count() == 0);

  // created_at missing from the terminal answer but known from an earlier one: counted at once.
  store.Apply(Cycle({MakeJob("c", Status::kRunning)}));
  Job no_created = MakeJob("c", Status::kDone, kWatchStart - 100, 1);
  no_created.created_at.reset();
  store.Apply(Cycle({no_created}));
  CHECK(Completed(store, Status::kDone) == 2);

  // A job first seen finished long before we watched is not held back: it is never counted.
  store.Apply(Cycle({MakeJob("old", Status::kDone, kWatchStart - 100, std::nullopt)}));
  CHECK(store.Current()->FindKind("aurora")->jobs.contains("old"));
  CHECK(store.Current()->FindKind("aurora")->deferred.empty());
}

TEST_CASE("a response without created_at keeps the one already known") {
  Store store({"aurora"}, kWatchStart);
  store.Apply(Cycle({MakeJob("a", Status::kRunning, kWatchStart - 50)}));
  Job later = MakeJob("a", Status::kDone);
  later.created_at.reset();
  later.updated_at = kWatchStart + 10;
  store.Apply(Cycle({later}));
  auto kind = store.Current()->FindKind("aurora");
  CHECK(kind->jobs.at("a").job.created_at == kWatchStart - 50);
  CHECK(kind->processing.at(Status::kDone).sum() == 60);
}

TEST_CASE("the id hash is FNV-1a 64, as the README documents it for sharding") {
  CHECK(state::IdHash("") == 14695981039346656037ull);
  CHECK(state::IdHash("abc") == 0xe71fa2190541574bull);
}

namespace {

PollCycle At(double now, std::vector<Job> jobs, bool complete = false) {
  PollCycle cycle = Cycle(std::move(jobs), "aurora", complete);
  cycle.finished_at = now;
  return cycle;
}

state::StoreOptions Options(double retention, double forget_after, size_t max_tracked = 10000) {
  return {.kinds = {"aurora"},
          .watching_since = kWatchStart,
          .terminal_retention_seconds = retention,
          .forget_after_seconds = forget_after,
          .max_tracked_jobs = max_tracked,
          .record_changes = true};
}

}  // namespace

TEST_CASE("a finished job stays shown for terminal_retention, then only its id is remembered") {
  Store store(Options(/*retention=*/60, /*forget_after=*/3600));
  const double t0 = kWatchStart + 10;
  store.Apply(At(t0, {MakeJob("a", Status::kRunning)}));
  store.Apply(At(t0 + 5, {MakeJob("a", Status::kDone, kWatchStart - 100, 2)}));
  CHECK(store.Current()->FindKind("aurora")->jobs.contains("a"));
  store.Apply(At(t0 + 64, {}));
  CHECK(store.Current()->FindKind("aurora")->jobs.contains("a"));
  store.Apply(At(t0 + 65, {}));
  auto kind = store.Current()->FindKind("aurora");
  CHECK_FALSE(kind->jobs.contains("a"));
  CHECK(kind->remembered == 1);
  CHECK(store.IsFinished("aurora", "a"));
  // Listed again while remembered: neither shown nor counted again.
  store.Apply(At(t0 + 100, {MakeJob("a", Status::kDone, kWatchStart - 100, 2)}, true));
  kind = store.Current()->FindKind("aurora");
  CHECK_FALSE(kind->jobs.contains("a"));
  CHECK(kind->completed.at(Status::kDone) == 1);
  CHECK(kind->credits_used == 2);
}

TEST_CASE("a forgotten job listed again is not counted again") {
  Store store(Options(/*retention=*/10, /*forget_after=*/100));
  const double t0 = kWatchStart + 10;
  const double created = kWatchStart + 1;
  store.Apply(At(t0, {MakeJob("a", Status::kRunning, created)}));
  store.Apply(At(t0 + 1, {MakeJob("a", Status::kDone, created, 3)}));
  store.Apply(At(t0 + 20, {}));  // leaves the output
  CHECK(store.Current()->FindKind("aurora")->remembered == 1);
  store.Apply(At(t0 + 200, {}));  // forgotten
  CHECK(store.Current()->FindKind("aurora")->remembered == 0);
  CHECK_FALSE(store.IsFinished("aurora", "a"));
  // Created after watching started, but longer ago than forget_after: it may have been counted
  // and forgotten, so it is not counted.
  store.Apply(At(t0 + 201, {MakeJob("a", Status::kDone, created, 3)}, true));
  auto kind = store.Current()->FindKind("aurora");
  CHECK(kind->completed.at(Status::kDone) == 1);
  CHECK(kind->credits_used == 3);
}

TEST_CASE("max_tracked_jobs: new jobs beyond the cap are dropped and counted once each") {
  Store store(Options(60, 3600, /*max_tracked=*/2));
  const double t0 = kWatchStart + 10;
  std::vector<Job> jobs = {MakeJob("a", Status::kRunning), MakeJob("b", Status::kRunning),
                           MakeJob("c", Status::kRunning), MakeJob("d", Status::kPending)};
  store.Apply(At(t0, jobs));
  store.Apply(At(t0 + 1, jobs));
  auto kind = store.Current()->FindKind("aurora");
  CHECK(kind->jobs.size() == 2);
  CHECK(kind->dropped.at("limit") == 2);
  // When room frees, a refused job is tracked.
  jobs[0].status = Status::kDone;
  store.Apply(At(t0 + 2, jobs));
  store.Apply(At(t0 + 100, jobs));  // a leaves the output
  kind = store.Current()->FindKind("aurora");
  CHECK(kind->jobs.size() == 2);
  CHECK(kind->jobs.contains("b"));
  CHECK((kind->jobs.contains("c") || kind->jobs.contains("d")));
  CHECK(kind->dropped.at("limit") == 2);
}

TEST_CASE("a job already finished when first seen is counted, or only remembered, by the rule") {
  Store store(Options(60, 3600, /*max_tracked=*/1));
  const double t0 = kWatchStart + 10;
  // Created before watching: not counted; shown while there is room.
  store.Apply(At(t0, {MakeJob("old", Status::kDone, kWatchStart - 50, 5)}));
  auto kind = store.Current()->FindKind("aurora");
  CHECK(kind->jobs.contains("old"));
  CHECK(kind->completed.at(Status::kDone) == 0);
  // Created while watching and already finished, with the store full: counted, and remembered.
  store.Apply(At(t0 + 1, {MakeJob("new", Status::kFailed, kWatchStart + 5, 7)}));
  kind = store.Current()->FindKind("aurora");
  CHECK_FALSE(kind->jobs.contains("new"));
  CHECK(kind->completed.at(Status::kFailed) == 1);
  CHECK(kind->credits_used == 7);
  CHECK(store.IsFinished("aurora", "new"));
  CHECK(kind->dropped.at("limit") == 0);
}

TEST_CASE("the changes since the last write come in order, and only what changed") {
  Store store(Options(10, 100));
  const double t0 = kWatchStart + 10;
  store.Apply(At(t0, {MakeJob("a", Status::kRunning), MakeJob("b", Status::kRunning)}));
  auto first = store.TakeChanges();
  CHECK(first.ops.size() == 2);
  store.Apply(At(t0 + 1, {MakeJob("a", Status::kRunning), MakeJob("b", Status::kDone)}));
  auto second = store.TakeChanges();
  REQUIRE(second.ops.size() == 1);
  CHECK(second.ops[0].type == state::Change::Type::kUpsert);
  CHECK(second.ops[0].id == "b");
  store.Apply(At(t0 + 30, {}));
  auto third = store.TakeChanges();
  REQUIRE(third.ops.size() == 2);
  CHECK(third.ops[0].type == state::Change::Type::kRemove);
  CHECK(third.ops[1].type == state::Change::Type::kRemember);
  CHECK(third.ops[1].id_hash == state::IdHash("b"));
  CHECK(store.TakeChanges().empty());
}

TEST_CASE("a job added by id is tracked unread, then counted once when a poll reads it done") {
  Store store({"aurora", "ads_clone"}, kWatchStart);
  CHECK(store.AddJob("aurora", "w1") == state::AddResult::kAdded);
  CHECK(store.AddJob("aurora", "w1") == state::AddResult::kKnown);
  CHECK(store.AddJob("lipsync", "w1") == state::AddResult::kNoKind);
  {
    auto snapshot = store.Current();
    const auto& record = snapshot->FindKind("aurora")->jobs.at("w1");
    CHECK(record.unread);
    CHECK_FALSE(store.IsFinished("aurora", "w1"));
  }
  // Created while we watched, first read done: it finished while we watched.
  Job done = MakeJob("w1", Status::kDone, kWatchStart + 1, 7);
  store.Apply(Cycle({done}));
  store.Apply(Cycle({done}));
  CHECK(Completed(store, Status::kDone) == 1);
  CHECK(store.Current()->FindKind("aurora")->credits_used == 7);
  CHECK_FALSE(store.Current()->FindKind("aurora")->jobs.at("w1").unread);
  CHECK(store.AddJob("aurora", "w1") == state::AddResult::kKnown);
  CHECK(store.IsFinished("aurora", "w1"));
}

TEST_CASE("a job a webhook announced follows the first-seen rule of a listed job") {
  Store store(state::StoreOptions{
      .kinds = {"aurora"}, .watching_since = kWatchStart, .forget_after_seconds = 3600});
  // Finished before the exporter watched, and created within forget_after of now but before
  // watching_since: never counted, however it was learned.
  REQUIRE(store.AddJob("aurora", "old") == state::AddResult::kAdded);
  // Created after watching_since but longer than forget_after ago.
  REQUIRE(store.AddJob("aurora", "forgotten") == state::AddResult::kAdded);
  // Read unfinished first: seen running, so counted when it finishes.
  REQUIRE(store.AddJob("aurora", "running") == state::AddResult::kAdded);
  PollCycle first = Cycle({MakeJob("old", Status::kDone, kWatchStart - 100, 5),
                           MakeJob("running", Status::kRunning, kWatchStart - 100)});
  store.Apply(first);
  PollCycle later = Cycle({MakeJob("forgotten", Status::kDone, kWatchStart + 1, 3),
                           MakeJob("running", Status::kDone, kWatchStart - 100, 4)});
  later.finished_at = kWatchStart + 1 + 3600 + 10;
  store.Apply(later);
  CHECK(Completed(store, Status::kDone) == 1);
  CHECK(store.Current()->FindKind("aurora")->credits_used == 4);
}
TEST_CASE("a partial cycle merges jobs but leaves up, readiness and the poll duration alone") {
  Store store({"aurora"}, kWatchStart);
  PollCycle cycle = Cycle({MakeJob("a", Status::kRunning)});
  cycle.partial = true;
  cycle.up = false;
  store.Apply(cycle);
  auto snapshot = store.Current();
  CHECK_FALSE(snapshot->polled);
  CHECK(snapshot->poll_duration.count() == 0);
  CHECK_FALSE(snapshot->FindKind("aurora")->last_success.has_value());
  CHECK(snapshot->FindKind("aurora")->jobs.contains("a"));
}

TEST_CASE("jobs removed by id leave the output, keep their counts and are never counted again") {
  Store store({"aurora"}, kWatchStart);
  store.Apply(Cycle({MakeJob("a", Status::kRunning), MakeJob("b", Status::kRunning)}));
  store.Apply(Cycle({MakeJob("a", Status::kDone)}));
  store.RemoveJobs("aurora", {"a", "b", "never-seen"}, kWatchStart + 20);
  auto snapshot = store.Current();
  CHECK(snapshot->FindKind("aurora")->jobs.empty());
  CHECK(snapshot->FindKind("aurora")->completed.at(Status::kDone) == 1);
  CHECK(snapshot->FindKind("aurora")->remembered == 1);
  // The finished one is remembered; the unfinished one may come back.
  CHECK(store.AddJob("aurora", "a") == state::AddResult::kFinished);
  CHECK(store.AddJob("aurora", "b") == state::AddResult::kAdded);
  store.Apply(Cycle({MakeJob("a", Status::kDone)}));
  CHECK(Completed(store, Status::kDone) == 1);
}

TEST_CASE("a kind switched off by a reconfiguration leaves the output and comes back whole") {
  Store store({"aurora", "ads_clone"}, kWatchStart);
  store.Apply(Cycle({MakeJob("a", Status::kRunning)}));
  store.Apply(Cycle({MakeJob("a", Status::kDone, kWatchStart - 100, 3)}));
  store.Reconfigure({"ads_clone", "lipsync"}, 900, 3600, 10, nullptr, false);
  auto off = store.Current();
  REQUIRE(off->kinds.size() == 2);
  CHECK(off->kinds[0].name == "ads_clone");
  CHECK(off->kinds[1].name == "lipsync");
  CHECK(off->FindKind("aurora") == nullptr);
  CHECK(store.AddJob("aurora", "x") == state::AddResult::kNoKind);
  store.Reconfigure({"aurora", "ads_clone", "lipsync"}, 900, 3600, 10, nullptr, false);
  auto on = store.Current();
  CHECK(on->FindKind("aurora")->completed.at(Status::kDone) == 1);
  CHECK(on->FindKind("aurora")->credits_used == 3);
  CHECK(on->FindKind("aurora")->jobs.contains("a"));
}

TEST_CASE("self-metrics are shown from the next publish") {
  Store store({"aurora"}, kWatchStart);
  store.CountWebhook("aurora", "accepted");
  store.SetIdsFile("aurora", 3, 1, false);
  store.SetIdsFile("aurora", 0, 0, true);
  store.RecordReload(false, kWatchStart);
  CHECK(store.Current()->webhook_requests.empty());
  store.PublishIfChanged();
  auto snapshot = store.Current();
  CHECK(snapshot->webhook_requests.at({"aurora", "accepted"}) == 1);
  CHECK(snapshot->ids_files.at("aurora").ids == 3);
  CHECK(snapshot->ids_files.at("aurora").invalid_lines == 1);
  CHECK(snapshot->ids_files.at("aurora").read_errors == 1);
  CHECK_FALSE(snapshot->reload.successful);
  const auto generation = snapshot->generation;
  store.PublishIfChanged();
  CHECK(store.Current() == snapshot);
  CHECK(generation == snapshot->generation);
}

namespace {

// What a store holds, as a backend would hand it back after a restart.
state::RestoredState Saved(const Store& store, double watching_since,
                           std::vector<std::pair<std::string, state::JobRecord>> jobs = {}) {
  state::RestoredState restored;
  restored.watching_since = watching_since;
  restored.counters = *store.Current();
  for (const auto& kind : restored.counters.kinds) {
    for (const auto& record : kind.jobs) jobs.emplace_back(kind.name, *record);
  }
  restored.jobs = std::move(jobs);
  return restored;
}

}  // namespace

TEST_CASE("a kind that is off at a restart keeps its counts and jobs hidden, and gets them back") {
  Store first({"aurora", "ads_clone"}, kWatchStart);
  first.Apply(Cycle({MakeJob("a", Status::kRunning), MakeJob("b", Status::kRunning)}));
  first.Apply(
      Cycle({MakeJob("a", Status::kDone, kWatchStart - 100, 5), MakeJob("b", Status::kRunning)}));
  REQUIRE(Completed(first, Status::kDone) == 1);

  // Restarted with aurora off: nothing of it is shown, and nothing of it changes.
  Store off(state::StoreOptions{.kinds = {"ads_clone"}, .watching_since = kWatchStart + 50});
  off.Restore(Saved(first, kWatchStart));
  CHECK(off.Current()->FindKind("aurora") == nullptr);
  CHECK(off.AddJob("aurora", "x") == state::AddResult::kNoKind);
  off.Apply(Cycle({MakeJob("b", Status::kDone, kWatchStart - 100, 9)}));  // not polled: ignored

  // Switched on by a reload: the counters, the finished job and the running one are all back,
  // and the running one, seen running before the restart, counts when it finishes.
  off.Reconfigure({"aurora", "ads_clone"}, 900, 7 * 86400, 10000, nullptr, false);
  auto on = off.Current();
  REQUIRE(on->FindKind("aurora") != nullptr);
  CHECK(on->FindKind("aurora")->completed.at(Status::kDone) == 1);
  CHECK(on->FindKind("aurora")->credits_used == 5);
  CHECK(on->FindKind("aurora")->jobs.contains("a"));
  CHECK(on->FindKind("aurora")->jobs.contains("b"));
  off.Apply(Cycle({MakeJob("a", Status::kDone, kWatchStart - 100, 5),
                   MakeJob("b", Status::kDone, kWatchStart - 100, 9)}));
  CHECK(Completed(off, Status::kDone) == 2);
  CHECK(off.Current()->FindKind("aurora")->credits_used == 14);
}

TEST_CASE("a lower max_tracked_jobs at a restart remembers the finished jobs it has no room for") {
  Store first(Options(/*retention=*/900, /*forget_after=*/86400));
  std::vector<Job> running;
  std::vector<Job> done;
  for (int i = 0; i < 5; ++i) {
    running.push_back(MakeJob("j" + std::to_string(i), Status::kRunning));
    done.push_back(MakeJob("j" + std::to_string(i), Status::kDone, kWatchStart - 100, 1));
  }
  running.push_back(MakeJob("still", Status::kRunning));
  done.push_back(MakeJob("still", Status::kRunning));
  first.Apply(At(kWatchStart + 10, running));
  first.Apply(At(kWatchStart + 20, done));
  REQUIRE(Completed(first, Status::kDone) == 5);

  Store second(Options(900, 86400, /*max_tracked=*/2));
  second.Restore(Saved(first, kWatchStart));
  auto kind = second.Current()->FindKind("aurora");
  // The unfinished job is kept whatever the cap; one finished job fits; four are remembered.
  CHECK(kind->jobs.contains("still"));
  CHECK(kind->jobs.size() == 2);
  CHECK(kind->remembered == 4);
  // The rows of the jobs remembered are removed, their ids remembered.
  int removed = 0;
  int remembered = 0;
  for (const auto& op : second.TakeChanges().ops) {
    removed += op.type == state::Change::Type::kRemove;
    remembered += op.type == state::Change::Type::kRemember;
  }
  CHECK(removed == 4);
  CHECK(remembered == 4);
  // The next listing shows them all done again: none is counted twice.
  done.back() = MakeJob("still", Status::kDone, kWatchStart - 100, 1);
  second.Apply(At(kWatchStart + 30, done));
  second.Apply(At(kWatchStart + 40, done));
  CHECK(Completed(second, Status::kDone) == 6);
  CHECK(second.Current()->FindKind("aurora")->credits_used == 6);
}

TEST_CASE("a job refused for the cap is counted once, across a restart too") {
  Store first(Options(900, 86400, /*max_tracked=*/1));
  first.Apply(
      At(kWatchStart + 10, {MakeJob("a", Status::kRunning), MakeJob("b", Status::kRunning)}));
  CHECK(first.AddJob("aurora", "c") == state::AddResult::kFull);
  CHECK(first.Current()->FindKind("aurora")->dropped.at("limit") == 2);
  auto changes = first.TakeChanges();
  state::RestoredState saved = Saved(first, kWatchStart);
  for (const auto& op : changes.ops) {
    if (op.type == state::Change::Type::kRefuse) {
      saved.refused.push_back({.kind = op.kind, .id_hash = op.id_hash, .forget_at = op.forget_at});
    }
  }
  REQUIRE(saved.refused.size() == 2);

  Store second(Options(900, 86400, /*max_tracked=*/1));
  second.Restore(std::move(saved));
  second.Apply(
      At(kWatchStart + 20, {MakeJob("a", Status::kRunning), MakeJob("b", Status::kRunning)}));
  CHECK(second.AddJob("aurora", "c") == state::AddResult::kFull);
  CHECK(second.Current()->FindKind("aurora")->dropped.at("limit") == 2);
  // Refused ids are forgotten with forget_after, like remembered ones.
  second.Apply(At(kWatchStart + 20 + 86400 + 1, {}));
  bool unrefused = false;
  for (const auto& op : second.TakeChanges().ops) {
    unrefused = unrefused || op.type == state::Change::Type::kUnrefuse;
  }
  CHECK(unrefused);
}

TEST_CASE("a series starts counting at the change that made it, a cycle or a call between cycles") {
  double clock = kWatchStart + 500;
  auto options = Options(900, 86400);
  options.clock = [&clock] { return clock; };
  Store store(std::move(options));
  auto created = [&](state::SeriesKey key) { return state::CreatedAt(*store.Current(), key, -1); };
  // Shown from the start: the start.
  CHECK(created({"completed", "aurora", "done"}) == kWatchStart);
  CHECK(created({"dropped", "aurora", "limit"}) == kWatchStart);
  // Made by a cycle: the cycle's time, whatever the clock says.
  PollCycle cycle = At(kWatchStart + 10, {MakeJob("a", Status::kRunning)});
  cycle.requests.push_back({.endpoint = "aurora", .code = "200", .seconds = 0.1});
  store.Apply(cycle);
  CHECK(created({"api_requests", "aurora", "200"}) == kWatchStart + 10);
  // Made between cycles (a webhook call counted, a kind that a reload switched on): the clock's
  // time then, not the last cycle's. A change waiting to be published keeps the time it came.
  store.Apply(At(kWatchStart + 20, {MakeJob("a", Status::kRunning)}));
  clock = kWatchStart + 45;
  store.CountWebhook("aurora", "accepted");
  clock = kWatchStart + 46;
  store.PublishIfChanged();
  CHECK(created({"webhook_requests", "aurora", "accepted"}) == kWatchStart + 45);
  clock = kWatchStart + 60;
  store.Reconfigure({"aurora", "ads_clone"}, 900, 86400, 10000, nullptr, false, {});
  CHECK(created({"completed", "ads_clone", "done"}) == kWatchStart + 60);
  CHECK(created({"completed", "aurora", "done"}) == kWatchStart);
  CHECK(created({"api_requests", "aurora", "200"}) == kWatchStart + 10);
}

TEST_CASE("pending changes keep only the last change of each row") {
  state::Changes pending;
  auto upsert = [](std::string id) {
    return state::Change{
        .type = state::Change::Type::kUpsert, .kind = "aurora", .id = std::move(id)};
  };
  for (int round = 0; round < 100; ++round) {
    state::Changes later;
    later.ops.push_back(upsert("a"));
    later.ops.push_back(upsert("b"));
    later.ops.push_back({.type = state::Change::Type::kRemember, .kind = "aurora", .id_hash = 7});
    later.ops.push_back({.type = state::Change::Type::kForget, .kind = "aurora", .id_hash = 7});
    later.ops.push_back({.type = state::Change::Type::kRefuse, .kind = "aurora", .id_hash = 7});
    pending.Merge(std::move(later));
  }
  pending.Merge(state::Changes{
      .ops = {{.type = state::Change::Type::kRemove, .kind = "aurora", .id = "a"}, upsert("a2")}});
  REQUIRE(pending.ops.size() == 5);
  CHECK(pending.ops[0].id == "b");
  CHECK(pending.ops[1].type == state::Change::Type::kForget);
  CHECK(pending.ops[2].type == state::Change::Type::kRefuse);
  CHECK(pending.ops[3].type == state::Change::Type::kRemove);
  CHECK(pending.ops[3].id == "a");
  CHECK(pending.ops[4].id == "a2");
}

TEST_CASE("durable counters: a live snapshot shown with the counts that are on disk") {
  Store store({"aurora"}, kWatchStart);
  store.Apply(Cycle({MakeJob("a", Status::kRunning)}));
  auto durable = store.Current();
  store.Apply(
      Cycle({MakeJob("a", Status::kDone, kWatchStart - 100, 5), MakeJob("b", Status::kRunning)}));
  auto live = store.Current();
  store.CountWebhook("aurora", "accepted");
  store.CountWebhookForward("aurora", "delivered");
  store.PublishIfChanged();
  live = store.Current();
  state::Snapshot shown = state::WithDurableCounters(*live, *durable);
  CHECK(shown.webhook_requests.at({"aurora", "accepted"}) == 0);
  CHECK(shown.webhook_forwards.at({"aurora", "delivered"}) == 0);
  const auto* kind = shown.FindKind("aurora");
  CHECK(kind->completed.at(Status::kDone) == 0);
  CHECK(kind->credits_used == 0);
  CHECK(kind->processing.at(Status::kDone).count() == 0);
  CHECK(shown.poll_duration.count() == durable->poll_duration.count());
  // Gauges and jobs stay live.
  CHECK(kind->jobs.contains("b"));
  CHECK(kind->jobs.at("a").status == Status::kDone);
}

namespace {

Store BreakdownStore(std::vector<std::string> fields, size_t max_values) {
  return Store(state::StoreOptions{
      .kinds = {"aurora", "ads_clone"},
      .watching_since = kWatchStart,
      .breakdown = {.fields = std::move(fields), .max_values = max_values},
  });
}

Job WithFields(Job job, creatify::InfoFields info, std::string failed_reason = "") {
  job.info = std::move(info);
  job.failed_reason = std::move(failed_reason);
  return job;
}

double BreakdownCompleted(const Store& store, std::string_view kind, const state::BreakdownKey& key,
                          Status status) {
  const auto& breakdown = store.Current()->FindKind(kind)->breakdown;
  auto it = breakdown.find(key);
  if (it == breakdown.end()) return 0;
  auto count = it->second.completed.find(status);
  return count == it->second.completed.end() ? 0 : count->second;
}

}  // namespace

TEST_CASE("the breakdown counts a terminal transition once, by the answer's fields") {
  Store store = BreakdownStore({"model_version", "failed_reason"}, 20);
  store.Apply(Cycle({WithFields(MakeJob("a", Status::kRunning), {{"model_version", "v1"}}),
                     WithFields(MakeJob("b", Status::kRunning), {})}));
  store.Apply(Cycle({WithFields(MakeJob("a", Status::kFailed, kWatchStart - 100, 4),
                                {{"model_version", "v1"}}, "timeout"),
                     WithFields(MakeJob("b", Status::kDone, kWatchStart - 100, 6), {})}));
  // Asked again: terminal jobs do not change.
  store.Apply(Cycle({WithFields(MakeJob("a", Status::kFailed, kWatchStart - 100, 4),
                                {{"model_version", "v2"}}, "other reason")}));
  CHECK(BreakdownCompleted(store, "aurora", {{"model_version", "v1"}, {"failed_reason", "timeout"}},
                           Status::kFailed) == 1);
  CHECK(BreakdownCompleted(store, "aurora", {{"model_version", ""}, {"failed_reason", ""}},
                           Status::kDone) == 1);
  const auto& breakdown = store.Current()->FindKind("aurora")->breakdown;
  CHECK(breakdown.size() == 2);
  CHECK(breakdown.at({{"model_version", "v1"}, {"failed_reason", "timeout"}}).credits_used == 4);
  CHECK(breakdown.at({{"model_version", ""}, {"failed_reason", ""}}).credits_used == 6);
  // The record does not keep the failed_reason: its fields have none.
  static_assert(!kKeepsFailedReason<state::JobRecord>);
  CHECK(store.Current()->breakdown_values.at("model_version") == std::vector<std::string>{"v1"});
  CHECK(store.Current()->breakdown_values.at("failed_reason") ==
        std::vector<std::string>{"timeout"});
}

TEST_CASE("breakdown values past max_values are counted as other and the first ones keep names") {
  Store store = BreakdownStore({"aspect_ratio"}, 2);
  std::vector<Job> jobs;
  const char* ratios[] = {"16:9", "9:16", "1:1", "16:9", "4:5"};
  for (int i = 0; i < 5; ++i) {
    jobs.push_back(WithFields(MakeJob("j" + std::to_string(i), Status::kDone, kWatchStart + 1, 1),
                              {{"aspect_ratio", ratios[i]}}));
  }
  store.Apply(Cycle(jobs));
  CHECK(BreakdownCompleted(store, "aurora", {{"aspect_ratio", "16:9"}}, Status::kDone) == 2);
  CHECK(BreakdownCompleted(store, "aurora", {{"aspect_ratio", "9:16"}}, Status::kDone) == 1);
  CHECK(BreakdownCompleted(store, "aurora", {{"aspect_ratio", "other"}}, Status::kDone) == 2);
  CHECK(store.Current()->breakdown_values.at("aspect_ratio") ==
        std::vector<std::string>{"16:9", "9:16"});
  // A kind of its own shares the names: they are the field's.
  store.Apply(Cycle(
      {WithFields(MakeJob("c", Status::kDone, kWatchStart + 1, 1), {{"aspect_ratio", "9:16"}})},
      "ads_clone"));
  CHECK(BreakdownCompleted(store, "ads_clone", {{"aspect_ratio", "9:16"}}, Status::kDone) == 1);
}

TEST_CASE("a put-off terminal transition is counted in the breakdown with the answer it takes") {
  Store store = BreakdownStore({"failed_reason"}, 20);
  store.Apply(Cycle({MakeJob("a", Status::kRunning)}));
  Job bad = WithFields(MakeJob("a", Status::kFailed, kWatchStart - 100, std::nullopt), {}, "early");
  store.Apply(Cycle({bad}));
  CHECK(store.Current()->FindKind("aurora")->breakdown.empty());
  store.Apply(Cycle({WithFields(MakeJob("a", Status::kFailed, kWatchStart - 100, 2), {}, "late")}));
  CHECK(BreakdownCompleted(store, "aurora", {{"failed_reason", "late"}}, Status::kFailed) == 1);
  CHECK(store.Current()->breakdown_values.at("failed_reason") == std::vector<std::string>{"late"});
}

TEST_CASE(
    "a changed breakdown field list starts at zero and the earlier list keeps its counts apart") {
  Store store = BreakdownStore({"aspect_ratio"}, 20);
  store.Apply(Cycle({WithFields(MakeJob("a", Status::kDone, kWatchStart + 1, 1),
                                {{"aspect_ratio", "1:1"}, {"name", "x"}})}));
  store.Reconfigure({"aurora", "ads_clone"}, 900, 3600, 10000, nullptr, false,
                    {.fields = {"name"}, .max_values = 20});
  store.Apply(Cycle({WithFields(MakeJob("b", Status::kDone, kWatchStart + 1, 1),
                                {{"aspect_ratio", "1:1"}, {"name", "y"}})}));
  const auto& breakdown = store.Current()->FindKind("aurora")->breakdown;
  CHECK(breakdown.size() == 2);
  CHECK(BreakdownCompleted(store, "aurora", {{"aspect_ratio", "1:1"}}, Status::kDone) == 1);
  CHECK(BreakdownCompleted(store, "aurora", {{"name", "y"}}, Status::kDone) == 1);
  CHECK(store.Current()->breakdown.fields == std::vector<std::string>{"name"});
}

// A rule for every order of events: summed over one field list's keys, the breakdown equals the
// totals, and each key holds exactly the jobs a reference of its own gives it.
namespace {

void CheckBreakdownHistory(uint64_t seed) {
  std::mt19937_64 random(seed);
  auto pick = [&](int n) { return static_cast<int>(random() % static_cast<uint64_t>(n)); };
  const size_t max_values = 1 + static_cast<size_t>(pick(3));
  Store store = BreakdownStore({"name", "failed_reason"}, max_values);
  // The reference: per job its values, the names in the order counted, the counts per key.
  std::map<std::string, std::pair<std::string, std::string>> values;
  std::map<std::string, bool> counted;
  std::map<std::string, std::vector<std::string>> names;
  std::map<std::pair<state::BreakdownKey, Status>, double> expected;
  std::map<state::BreakdownKey, double> expected_credits;
  const Status statuses[] = {Status::kPending, Status::kRunning, Status::kDone, Status::kFailed,
                             Status::kRejected};
  for (int cycle = 0; cycle < 60; ++cycle) {
    std::vector<Job> jobs;
    const int n = pick(6);
    for (int i = 0; i < n; ++i) {
      const std::string id = "j" + std::to_string(pick(25));
      const Status status = statuses[pick(5)];
      const double credits = pick(4);
      std::string name = pick(4) == 0 ? "" : "n" + std::to_string(pick(4));
      std::string reason =
          status == Status::kFailed && pick(3) != 0 ? "r" + std::to_string(pick(3)) : "";
      creatify::InfoFields info;
      if (!name.empty()) info.emplace_back("name", name);
      jobs.push_back(WithFields(MakeJob(id, status, kWatchStart + 1, credits), info, reason));
      // The reference counts the first terminal answer of a job it has not counted.
      if (creatify::IsTerminal(status) && !counted[id]) {
        counted[id] = true;
        state::BreakdownKey key;
        for (const auto& [field, value] : std::vector<std::pair<std::string, std::string>>{
                 {"name", name}, {"failed_reason", reason}}) {
          auto& known = names[field];
          std::string label = value;
          if (!value.empty() && std::find(known.begin(), known.end(), value) == known.end()) {
            if (known.size() < max_values) {
              known.push_back(value);
            } else {
              label = "other";
            }
          }
          key.emplace_back(field, label);
        }
        expected[{key, status}] += 1;
        expected_credits[key] += credits;
      }
    }
    store.Apply(Cycle(jobs));
  }
  const auto snapshot = store.Current();
  const auto* kind = snapshot->FindKind("aurora");
  std::map<Status, double> sums;
  double credit_sum = 0;
  std::map<std::pair<state::BreakdownKey, Status>, double> got;
  std::map<state::BreakdownKey, double> got_credits;
  for (const auto& [key, count] : kind->breakdown) {
    for (const auto& [status, value] : count.completed) {
      sums[status] += value;
      got[{key, status}] = value;
    }
    credit_sum += count.credits_used;
    got_credits[key] = count.credits_used;
  }
  for (Status status : creatify::kTerminalStatuses) {
    CHECK(sums[status] == kind->completed.at(status));
  }
  CHECK(credit_sum == kind->credits_used);
  CHECK(got == expected);
  CHECK(got_credits == expected_credits);
  for (const auto& [field, known] : names) {
    // A field none of whose values was counted has no names.
    auto it = snapshot->breakdown_values.find(field);
    CHECK((it == snapshot->breakdown_values.end() ? std::vector<std::string>{} : it->second) ==
          known);
  }
}

}  // namespace

TEST_CASE("the breakdown sums to the totals and matches a reference over random histories") {
  // CREATIFY_STORE_SEED replays a run (its first history; each next one takes seed + 1).
  const char* given = std::getenv("CREATIFY_STORE_SEED");
  const uint64_t first = given ? std::stoull(given) : std::random_device{}();
  MESSAGE("seed ", first, " (CREATIFY_STORE_SEED)");
  for (uint64_t seed = first; seed < first + 200; ++seed) {
    INFO("seed ", seed);
    CheckBreakdownHistory(seed);
  }
}
