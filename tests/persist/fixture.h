// Shared by the persist tests: a store fed with poll cycles that exercise every kind of change
// (jobs added, changed, counted, dropped, expired and remembered, ids forgotten), and helpers to
// write it to a state file and compare two stores.
#pragma once

#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "persist/state_file.h"
#include "state/store.h"

namespace persist_test {

inline constexpr double kStart = 1'800'000'000;

inline state::StoreOptions Options(double watching_since = kStart) {
  return state::StoreOptions{.kinds = {"aurora", "ads_clone"},
                             .watching_since = watching_since,
                             .terminal_retention_seconds = 60,
                             .forget_after_seconds = 600,
                             .record_changes = true,
                             .breakdown = {.fields = {"aspect_ratio", "name"}, .max_values = 2}};
}

inline creatify::Job Job(const std::string& id, creatify::Status status, double created,
                         std::optional<double> credits = 0.0) {
  creatify::Job job;
  job.id = id;
  job.status = status;
  job.created_at = created;
  job.updated_at = created + 95.5;
  job.credits_used = credits;
  job.progress = creatify::IsTerminal(status) ? 1.0 : 0.25;
  job.video_duration_seconds = 12.75;
  job.info = {{"name", "video " + id}, {"aspect_ratio", "9:16"}};
  return job;
}

inline state::PollCycle Cycle(double at, std::vector<creatify::Job> aurora,
                              std::vector<creatify::Job> ads = {}) {
  state::PollCycle cycle;
  cycle.finished_at = at;
  cycle.duration_seconds = 0.3;
  cycle.up = true;
  cycle.remaining_credits = 500;
  cycle.kinds.push_back({.kind = "aurora", .success = true, .jobs = std::move(aurora)});
  cycle.kinds.push_back({.kind = "ads_clone", .success = true, .jobs = std::move(ads)});
  cycle.requests = {{"aurora", "200", 0.07}, {"ads_clone", "200", 0.3}};
  return cycle;
}

// The cycles of a busy stretch: jobs run and finish (done, failed, rejected), one is seen only
// finished, one answers 404 until dropped, a listing has malformed items, retention expires
// finished jobs into remembered ids and forgetting removes some again.
inline std::vector<state::PollCycle> BusyCycles() {
  using creatify::Status;
  std::vector<state::PollCycle> cycles;
  double t = kStart + 10;
  cycles.push_back(
      Cycle(t, {Job("a1", Status::kPending, kStart - 50), Job("a2", Status::kRunning, kStart + 1)},
            {Job("c1", Status::kInQueue, kStart - 5)}));
  cycles.push_back(
      Cycle(t += 5,
            {Job("a1", Status::kDone, kStart - 50, 4.5), Job("a2", Status::kRunning, kStart + 1),
             Job("a3", Status::kFailed, kStart + 2, 1.25)},
            {Job("c1", Status::kRunning, kStart - 5)}));
  auto with_faults =
      Cycle(t += 5, {Job("a2", Status::kRejected, kStart + 1)},
            {Job("c1", Status::kDone, kStart - 5, 7), Job("c2", Status::kPending, kStart + 3)});
  with_faults.kinds[0].invalid_items = 2;
  with_faults.kinds[0].invalid_fields = {"progress", "progress", "credits_used"};
  with_faults.kinds[1].not_found = {"gone"};
  with_faults.requests.push_back({"aurora", "503", 2.0});
  with_faults.requests.push_back({"remaining_credits", "connect", 0.01});
  cycles.push_back(std::move(with_faults));
  for (int i = 0; i < 2; ++i) {
    auto cycle = Cycle(t += 5, {}, {Job("c2", Status::kRunning, kStart + 3)});
    cycle.kinds[1].not_found = {"gone"};
    cycles.push_back(std::move(cycle));
  }
  // Past the retention: a1, a3, a2 and c1 leave the output and are remembered.
  cycles.push_back(Cycle(t += 100, {Job("a4", Status::kRunning, kStart + 90)},
                         {Job("c2", Status::kRunning, kStart + 3)}));
  cycles.push_back(Cycle(
      t += 5, {Job("a4", Status::kRunning, kStart + 90), Job("a5", Status::kPending, kStart + 100)},
      {Job("c2", Status::kRunning, kStart + 3)}));
  // The id dropped as not found is forgotten; the expired jobs are still remembered.
  cycles.push_back(
      Cycle(kStart + 700,
            {Job("a4", Status::kRunning, kStart + 90), Job("a5", Status::kPending, kStart + 100)},
            {Job("c2", Status::kRunning, kStart + 3)}));
  return cycles;
}

// Writes what the store changed since the last call; the test fails if the write does.
inline void WriteChanges(state::Store& store, persist::StateFile& file) {
  std::shared_ptr<const state::Snapshot> snapshot;
  state::Changes changes = store.TakeChanges(&snapshot);
  std::string error;
  REQUIRE_MESSAGE(file.Write(changes, *snapshot, &error), error);
}

inline void CheckHistogramsEqual(const state::Histogram& a, const state::Histogram& b) {
  CHECK(a.upper_bounds() == b.upper_bounds());
  CHECK(a.bucket_counts() == b.bucket_counts());
  CHECK(a.sum() == b.sum());
  CHECK(a.count() == b.count());
}

// Every counter, histogram, job and the remembered count agree.
inline void CheckSameState(const state::Snapshot& a, const state::Snapshot& b) {
  CHECK(a.watching_since == b.watching_since);
  CHECK(a.api_requests == b.api_requests);
  REQUIRE(a.api_request_duration.size() == b.api_request_duration.size());
  for (const auto& [endpoint, histogram] : a.api_request_duration) {
    CheckHistogramsEqual(histogram, b.api_request_duration.at(endpoint));
  }
  CheckHistogramsEqual(a.poll_duration, b.poll_duration);
  CHECK(a.breakdown_values == b.breakdown_values);
  REQUIRE(a.kinds.size() == b.kinds.size());
  for (size_t i = 0; i < a.kinds.size(); ++i) {
    const auto& x = a.kinds[i];
    const auto& y = b.kinds[i];
    INFO("kind ", x.name);
    CHECK(x.name == y.name);
    CHECK(x.completed == y.completed);
    CHECK(x.credits_used == y.credits_used);
    CHECK(x.processing == y.processing);
    CHECK(x.invalid_items == y.invalid_items);
    CHECK(x.invalid_fields == y.invalid_fields);
    CHECK(x.dropped == y.dropped);
    CHECK(x.last_success == y.last_success);
    CHECK(x.breakdown == y.breakdown);
    CHECK(x.remembered == y.remembered);
    REQUIRE(x.jobs.size() == y.jobs.size());
    for (const auto& record : x.jobs) {
      INFO("job ", record->job.id);
      const state::JobRecord& other = y.jobs.at(record->job.id);
      CHECK(record->job == other.job);
      CHECK(record->status == other.status);
      CHECK(record->finished_at == other.finished_at);
      CHECK(record->counted == other.counted);
    }
  }
}

}  // namespace persist_test
