// The job store: the one place that holds what the exporter knows. The poller hands it the
// results of each poll cycle (Apply); it merges them, counts each job's terminal transition
// exactly once, and publishes an immutable Snapshot that /metrics renders.
//
// Thread-safety: Apply may be called from any thread (calls are serialised); Current is cheap,
// never waits for Apply's merge work, and the snapshot it returns never changes afterwards.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "creatify/job.h"
#include "state/histogram.h"

namespace state {

// One job as the store knows it: its last known fields and its effective status.
struct TrackedJob {
  creatify::Job job;
  // Never unset: the last status the API sent, or kUnknown when it never sent a usable one.
  creatify::Status status = creatify::Status::kUnknown;
  friend bool operator==(const TrackedJob&, const TrackedJob&) = default;
};

struct KindSnapshot {
  std::string name;
  // Jobs by id (ordered, so renders are stable).
  std::map<std::string, TrackedJob> jobs;
  // Terminal transitions observed, per terminal status (every terminal status present).
  std::map<creatify::Status, double> completed;
  // credits_used of the jobs counted in `completed`.
  double credits_used = 0;
  // updated_at - created_at of the jobs counted in `completed`, per terminal status.
  std::map<creatify::Status, Histogram> processing;
  // Unix time of the end of the last cycle in which every request of the kind succeeded.
  std::optional<double> last_success;
  double invalid_items = 0;
  std::map<std::string, double> invalid_fields;
  // Jobs whose terminal transition arrived with malformed fields and was put off, with the
  // number of times it was.
  std::map<std::string, int> deferred;
};

// How many poll cycles a terminal transition whose credits_used, created_at or updated_at arrives
// malformed is put off, in the hope of a clean answer, before it is taken with what is known.
inline constexpr int kMaxTerminalDeferrals = 3;

struct Snapshot {
  // Bumped by every Apply.
  uint64_t generation = 0;
  // At least one poll cycle was attempted (readiness).
  bool polled = false;
  bool up = false;
  // The active kinds, in creatify::Kinds() order.
  std::vector<KindSnapshot> kinds;
  std::optional<double> remaining_credits;
  // (endpoint, code) -> requests.
  std::map<std::pair<std::string, std::string>, double> api_requests;
  std::map<std::string, Histogram> api_request_duration;
  Histogram poll_duration{PollBuckets()};

  const KindSnapshot* FindKind(std::string_view name) const;
};

// What one poll cycle learned about one kind.
struct KindPoll {
  std::string kind;
  // Every request for the kind got a usable answer.
  bool success = false;
  // The answers were one complete listing of the kind (a list endpoint without ?ids=): unfinished
  // jobs the store tracks that are missing from it no longer exist and are dropped.
  bool complete_listing = false;
  std::vector<creatify::Job> jobs;
  int invalid_items = 0;
  std::vector<std::string> invalid_fields;
};

struct ApiRequest {
  std::string endpoint;
  std::string code;
  double seconds = 0;
};

struct PollCycle {
  // Unix seconds.
  double finished_at = 0;
  double duration_seconds = 0;
  bool up = false;
  std::vector<KindPoll> kinds;
  std::optional<double> remaining_credits;
  std::vector<ApiRequest> requests;
};

class Store {
 public:
  // `active_kinds`: the kinds polled (rendered with zeros before any data). `watching_since`:
  // Unix time from which this exporter has watched; a job first seen already terminal is counted
  // only if it was created after that (then it finished while we watched).
  Store(std::vector<std::string> active_kinds, double watching_since);

  void Apply(const PollCycle& cycle);

  std::shared_ptr<const Snapshot> Current() const;

 private:
  void MergeKind(const KindPoll& poll, double finished_at, KindSnapshot& kind);
  void MergeJob(const creatify::Job& job, KindSnapshot& kind);

  const double watching_since_;

  std::mutex apply_mutex_;
  // The working state; guarded by apply_mutex_.
  Snapshot state_;

  mutable std::mutex current_mutex_;
  // Guarded by current_mutex_ (held only to copy or swap the pointer).
  std::shared_ptr<const Snapshot> current_;
};

}  // namespace state
