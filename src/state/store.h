// The job store: the one place that holds what the exporter knows. The poller hands it the
// results of each poll cycle (Apply); it merges them, counts each job's terminal transition
// exactly once, applies retention, and publishes an immutable Snapshot that /metrics renders.
//
// Memory stays flat as jobs pile up: a finished job leaves the output terminal_retention after
// its terminal transition, and from then on only an 8-byte hash of its id is remembered (until
// forget_after), so that a listing that shows it again never counts it twice. Snapshots share the
// records of the jobs that did not change.
//
// Thread-safety: Apply, IsFinished and Restore may be called from any thread (they are
// serialised); Current is cheap, never waits for Apply's merge work, and the snapshot it returns
// never changes afterwards.
#pragma once

#include <array>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "creatify/job.h"
#include "state/histogram.h"
#include "state/job_record.h"

namespace state {

// The shown jobs of a kind, ordered by id (renders are stable). Shares its records.
class JobList {
 public:
  using Entry = std::shared_ptr<const JobRecord>;

  JobList() : entries_(std::make_shared<const std::vector<Entry>>()) {}
  explicit JobList(std::shared_ptr<const std::vector<Entry>> sorted)
      : entries_(std::move(sorted)) {}

  size_t size() const { return entries_->size(); }
  bool empty() const { return entries_->empty(); }
  auto begin() const { return entries_->begin(); }
  auto end() const { return entries_->end(); }
  std::span<const Entry> entries() const { return *entries_; }
  // nullptr when the id is not shown.
  const JobRecord* find(std::string_view id) const;
  bool contains(std::string_view id) const { return find(id) != nullptr; }
  // Throws std::out_of_range when the id is not shown (for tests).
  const JobRecord& at(std::string_view id) const;

 private:
  // Shared by the snapshots between which the kind's jobs did not change.
  std::shared_ptr<const std::vector<Entry>> entries_;
};

// A combination of breakdown values: (field, value) in breakdown.fields order; the value is ""
// when the job has no such field, "other" past max_values. The field names are part of the key,
// so that the counts of another field list (an earlier config) stay apart, hidden, and come back
// with it.
using BreakdownKey = std::vector<std::pair<std::string, std::string>>;

// The completions and credits of one combination of breakdown values.
struct BreakdownCount {
  // Terminal transitions counted, per terminal status (only those that happened).
  std::map<creatify::Status, double> completed;
  double credits_used = 0;
  friend bool operator==(const BreakdownCount&, const BreakdownCount&) = default;
};

// The counted values of a kind: what persists across restarts.
struct KindCounters {
  // Terminal transitions observed, per terminal status (every terminal status present).
  std::map<creatify::Status, double> completed;
  // credits_used of the jobs counted in `completed`.
  double credits_used = 0;
  // updated_at - created_at of the jobs counted in `completed`, per terminal status.
  std::map<creatify::Status, Histogram> processing;
  // Of the counted jobs first read pending or in_queue (seen_queued) with created_at and
  // updated_at: "queued" is running_seen_at - created_at, "running" updated_at - running_seen_at
  // (each at least 0).
  std::map<std::string, Histogram> stage;
  double invalid_items = 0;
  std::map<std::string, double> invalid_fields;
  // Jobs not tracked, by reason: "limit" (max_tracked_jobs was reached), "not_found" (a job
  // asked for by id answered 404 kNotFoundPolls polls in a row).
  std::map<std::string, double> dropped;
  // The jobs counted in `completed` and `credits_used`, again, by their breakdown values: summed
  // over the keys of one field list, equal to them since that list was configured.
  std::map<BreakdownKey, BreakdownCount> breakdown;
};

struct KindSnapshot : KindCounters {
  std::string name;
  // Unfinished jobs, and finished ones within terminal_retention of their terminal transition.
  JobList jobs;
  // Finished jobs that left the output and whose ids are remembered.
  size_t remembered = 0;
  // Unix time of the end of the last cycle in which every request of the kind succeeded.
  std::optional<double> last_success;
  // Jobs whose terminal transition arrived with malformed fields and was put off, with the
  // number of times it was.
  std::map<std::string, int> deferred;
  // Per unfinished status (pending, in_queue, running, unknown): the least created_at of the
  // shown jobs that were read and have one. A status without such a job has no entry.
  std::map<creatify::Status, double> oldest_unfinished;
};

// How many answers a terminal transition whose credits_used, created_at or updated_at arrives
// malformed, null or missing is put off, in the hope of a complete answer, before it is taken with
// what is known.
inline constexpr int kMaxTerminalDeferrals = 3;

// A job asked for by id that is not found this many polls in a row (a 404, or an ?ids= answer that
// leaves it out) is dropped.
inline constexpr int kNotFoundPolls = 3;

// What became of a job announced by a webhook (Store::AddJob).
enum class AddResult {
  // Now tracked; the poller reads it at once.
  kAdded,
  // Already tracked (shown), finished or not.
  kKnown,
  // Finished and left the output: never tracked, nor counted, again.
  kFinished,
  // max_tracked_jobs is reached (counted as dropped, reason "limit").
  kFull,
  // Not an active kind.
  kNoKind,
};

// `breakdown:` as the store applies it.
struct BreakdownOptions {
  // Empty: off.
  std::vector<std::string> fields;
  size_t max_values = 20;
  bool operator==(const BreakdownOptions&) const = default;
};

// The label value of a job's breakdown field past max_values.
inline constexpr std::string_view kBreakdownOther = "other";

// What the polls of one workspace (`workspaces:`) say of its API.
struct WorkspaceStatus {
  // A configured workspace (rendered); one removed from the config keeps its poll_duration.
  bool configured = true;
  // At least one poll cycle of the workspace finished.
  bool polled = false;
  bool up = false;
  std::optional<double> remaining_credits;
  Histogram poll_duration{PollBuckets()};
};

// A counted series by the key of its row in the state file (state/series.h).
using SeriesKey = std::array<std::string, 3>;

struct Snapshot {
  // Bumped by every Apply.
  uint64_t generation = 0;
  // At least one poll cycle finished (of every configured workspace, with workspaces), or the
  // first has been running for api.timeout (readiness).
  bool polled = false;
  // Without workspaces, the last cycle's; with them, every configured workspace's at once.
  bool up = false;
  // With `workspaces:`, each one's up, credits and poll duration (the top-level remaining_credits
  // and poll_duration are then unused), by name; empty without. api_requests and
  // api_request_duration are keyed by scoped endpoints (creatify::ScopedKind), and the kinds by
  // scoped kind names.
  std::map<std::string, WorkspaceStatus> workspaces;
  // The active kinds, in config::Config::kind_table order.
  std::vector<KindSnapshot> kinds;
  std::optional<double> remaining_credits;
  // (endpoint, code) -> requests.
  std::map<std::pair<std::string, std::string>, double> api_requests;
  std::map<std::string, Histogram> api_request_duration;
  Histogram poll_duration{PollBuckets()};
  // Unix time from which this exporter (across restarts) has watched.
  double watching_since = 0;
  // Unix time this process started (its own counters, never persisted, count from then).
  double process_started_at = 0;
  // When each counted series (state::ForEachCountedSeries) started counting: the time of the
  // poll or call that made it, kept with the counts across restarts (watching_since for a series
  // of a state file that did not keep it). Shared by the snapshots until a series is new.
  std::shared_ptr<const std::map<SeriesKey, double>> created;
  // Calls to the webhook receiver: (kind, result) -> requests.
  std::map<std::pair<std::string, std::string>, double> webhook_requests;
  // Webhook calls handed to another replica, by how they ended: (kind, result) -> calls.
  std::map<std::pair<std::string, std::string>, double> webhook_forwards;
  // Calls waiting to be handed to another replica; unset without forwarding.
  std::optional<double> webhook_forwards_waiting;
  // The ids files, per kind that has one.
  struct IdsFile {
    // Ids in the file as last read.
    double ids = 0;
    // Lines of the file as last read that are not a job id.
    double invalid_lines = 0;
    // Reads that failed (the last good ids stay in use).
    double read_errors = 0;
  };
  std::map<std::string, IdsFile> ids_files;
  // The last reload of the configuration (SIGHUP, POST /-/reload).
  struct Reload {
    bool successful = true;
    // Unix time of the last successful (re)load.
    double last_success = 0;
  } reload;
  // The web config (--web.config.file), re-read when its files change; absent from the output
  // without one.
  struct WebConfigReload {
    bool watched = false;
    bool successful = true;
    // Unix time the web config in force was loaded.
    double last_success = 0;
  } web_config;
  // The persisted state, when there is one.
  struct Persistence {
    bool enabled = false;
    // The last start restored a good state file.
    bool restored = false;
    double write_errors = 0;
    std::optional<double> last_write;
  } persistence;

  // The breakdown in force, and per field the values that have a label value of their own, in
  // the order first seen (kept across restarts and changes of the field list).
  BreakdownOptions breakdown;
  std::map<std::string, std::vector<std::string>> breakdown_values;

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
  // Ids asked for one by one that answered 404.
  std::vector<std::string> not_found;
  int invalid_items = 0;
  std::vector<std::string> invalid_fields;
};

struct ApiRequest {
  std::string endpoint;
  std::string code;
  double seconds = 0;
};

struct PollCycle {
  // The workspace polled ("" without workspaces): its up, credits and poll duration.
  std::string workspace;
  // Unix seconds: the store's notion of "now" for this cycle (retention, forgetting).
  double finished_at = 0;
  // Only a few jobs were read (those a webhook announced), not a whole cycle: up, readiness,
  // the poll duration and the kinds' last success are left as they are.
  bool partial = false;
  double duration_seconds = 0;
  bool up = false;
  std::vector<KindPoll> kinds;
  std::optional<double> remaining_credits;
  std::vector<ApiRequest> requests;
};

struct StoreOptions {
  // The kinds polled (rendered with zeros before any data), in render order.
  std::vector<std::string> kinds;
  // Unix time from which this exporter has watched; a job first seen already terminal is counted
  // only if it was created after this and after now - forget_after (then it finished while we
  // watched, and cannot have been counted and forgotten before).
  double watching_since = 0;
  double terminal_retention_seconds = 15 * 60;
  double forget_after_seconds = 7 * 24 * 3600;
  // Unfinished and retained jobs, all kinds together.
  size_t max_tracked_jobs = 10000;
  // Renders a job's lines when it changes; nullptr: records carry no lines.
  JobRenderer render_job;
  // The configured workspaces' names (empty: none).
  std::vector<std::string> workspaces;
  // Keep the changes for TakeChanges (a persistence writer takes them after every Apply).
  bool record_changes = false;
  BreakdownOptions breakdown;
  // The wall clock (Unix seconds), read for a change that comes between poll cycles (a webhook
  // call, a reload): a series it creates starts counting then. A cycle's series start at the
  // cycle's time. Empty: state::UnixNow.
  std::function<double()> clock;
};

// The rows a persistence backend must write, in the order they happened: jobs added or changed,
// jobs that left the output, finished ids remembered or forgotten, ids refused for the cap or no
// longer. Counters are small and taken whole from the snapshot.
struct Change {
  enum class Type { kUpsert, kRemove, kRemember, kForget, kRefuse, kUnrefuse };
  Type type = Type::kUpsert;
  std::string kind;
  // kUpsert, kRemove.
  std::string id;
  // kUpsert.
  std::shared_ptr<const JobRecord> record;
  // kRemember, kForget, kRefuse, kUnrefuse.
  uint64_t id_hash = 0;
  // kRemember, kRefuse.
  double forget_at = 0;
};

struct Changes {
  std::vector<Change> ops;
  bool empty() const { return ops.empty(); }
  // Appends `later`'s rows, then keeps only the last change of each row (a job's later change
  // replaces its earlier one): the changes a failing backend holds stay bounded by the rows that
  // exist, however many writes fail.
  void Merge(Changes&& later);
};

// What a persistence backend restores into a new store.
struct RestoredState {
  double watching_since = 0;
  // The kinds' counters, api_requests, histograms and breakdown_values; jobs ignored.
  Snapshot counters;
  std::vector<std::pair<std::string, JobRecord>> jobs;  // (kind, record)
  // (kind, id hash, forget_at).
  struct Remembered {
    std::string kind;
    uint64_t id_hash = 0;
    double forget_at = 0;
  };
  std::vector<Remembered> remembered;
  // Jobs refused for the cap (already counted in dropped{reason="limit"}), until forget_at.
  std::vector<Remembered> refused;
};

// A copy of `live` whose counters and histograms (everything a backend persists as a count) are
// those of `durable`: what /metrics shows while writes fail, so that a scrape never sees a count
// that a crash could take back. Gauges, jobs and self-metrics stay live.
Snapshot WithDurableCounters(const Snapshot& live, const Snapshot& durable);

class Store {
 public:
  explicit Store(StoreOptions options);
  // The options' defaults with these kinds and start time (tests).
  Store(std::vector<std::string> active_kinds, double watching_since);
  ~Store();
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  // Replaces the state with a restored one (before the first Apply). Counters continue from the
  // restored values. A kind not active now keeps what was restored, hidden (not rendered, not
  // written), so that it comes back whole when a reload or a restart switches it on again.
  // Finished jobs beyond max_tracked_jobs (a lower cap than the last run's) are remembered, never
  // forgotten; unfinished ones are all kept, so that none of them can lose its count.
  void Restore(RestoredState restored);

  void Apply(const PollCycle& cycle);

  // Sets `polled` (readiness) without a finished cycle: the first one has been trying for as
  // long as a request may take. Publishes only when it changes something.
  void MarkPollAttempted();

  // Tracks a job known only by its id (a webhook announced it) until a poll reads it: it is
  // polled like every unfinished job, and is neither shown nor counted before it was read. Its
  // terminal transition, when read, counts (it finished while we watched). Publishes when added.
  AddResult AddJob(std::string_view kind, std::string_view id);

  // Stops tracking jobs (their ids left an ids file or the config): they leave the output, and a
  // finished one is remembered, so that it is never counted again. Counters are kept.
  void RemoveJobs(std::string_view kind, const std::vector<std::string>& ids, double now);

  // The kinds rendered, in order (a reload): a kind switched off leaves the output but keeps its
  // counters and jobs, should it come back; a new kind starts at zero. Also the retention
  // settings and the job renderer (all records are rendered again when `rerender`).
  // The breakdown's fields and max_values too: a field list not seen before starts at zero.
  void Reconfigure(std::vector<std::string> kinds, double terminal_retention_seconds,
                   double forget_after_seconds, size_t max_tracked_jobs, JobRenderer render_job,
                   bool rerender, BreakdownOptions breakdown = {});

  // The configured workspaces (a reload): a new one is shown not yet polled, a removed one leaves
  // the output. Publishes with the next Reconfigure or Apply.
  void SetWorkspaces(const std::vector<std::string>& workspaces);
  // Self-metrics that change between polls; shown from the next publish (PublishIfChanged, or
  // the next Apply).
  void CountWebhook(std::string_view kind, std::string_view result, double amount = 1);
  void CountWebhookForward(std::string_view kind, std::string_view result, double amount = 1);
  void AddWebhookForwardsWaiting(double delta);
  void SetIdsFile(std::string_view kind, double ids, double invalid_lines, bool read_failed);
  void RecordReload(bool ok, double at);
  // A load of the web config (at start-up, then at each change of its files).
  void RecordWebConfigReload(bool ok, double at);
  // Forgets the ids-file figures of the kinds not in `kinds` (a reload took their file away).
  void KeepIdsFiles(const std::set<std::string>& kinds);
  // Publishes if a self-metric changed since the last publish.
  void PublishIfChanged();

  // The job is known to be finished: shown in a terminal status, remembered, or dropped as not
  // found. The poller does not ask for it again.
  bool IsFinished(std::string_view kind, std::string_view id) const;

  std::shared_ptr<const Snapshot> Current() const;

  // The rows changed since the last call (for the persistence writer).
  Changes TakeChanges();
  // The same, with the snapshot that holds exactly those changes: its counters agree with the
  // rows (an Apply cannot slip in between), which a backend needs to never count twice or miss.
  Changes TakeChanges(std::shared_ptr<const Snapshot>* snapshot);

  // The persistence writer's outcome, shown from the next snapshot on.
  void SetPersistence(bool enabled, bool restored);
  void RecordWrite(bool ok, double at);

  // Called with every new snapshot, on the thread that made it (after Apply and Restore).
  void OnPublish(std::function<void(const std::shared_ptr<const Snapshot>&)> listener);

 private:
  struct KindState;

  void MergeKind(const KindPoll& poll, double now, bool partial, KindState& kind);
  void MergeJob(const creatify::Job& job, double now, KindState& kind);
  void Track(KindState& kind, JobRecord record);
  // Counts a terminal transition in the breakdown (when it is on).
  // `failed_reason` is the answer's (the record does not keep it).
  void CountBreakdown(KindCounters& counters, const creatify::JobFields& job,
                      std::string_view failed_reason, creatify::Status status);
  void Expire(double now, KindState& kind);
  void Remember(KindState& kind, std::string_view id, double now);
  void RememberHash(KindState& kind, uint64_t hash, double forget_at);
  // Counts a job refused for the cap once (until forget_after), and remembers that it was.
  void Refuse(KindState& kind, std::string_view id, double now);
  void Unrefuse(KindState& kind, std::string_view id);
  // Jobs tracked by the active kinds (hidden kinds' jobs do not take room).
  size_t Tracked() const;
  bool Full() const;
  // The kind's slot, made hidden when it is not one of the options' kinds.
  KindState& SlotFor(std::string_view name);
  void Record(Change change);
  // Publishes a new snapshot; a series that appeared since the last one starts counting `at`.
  void Publish(double at);
  // A self-metric changed: published by PublishIfChanged (with the time of the first change).
  void MarkDirty();
  double Now() const;
  // Gives every counted series of `snapshot` that has none a created time: `at`.
  void AssignCreated(const Snapshot& snapshot, double at);
  // With workspaces: polled once every configured workspace was, up while all are.
  void UpdateWorkspacesPolled();
  // The slot of an active kind in kinds_ / state_.kinds, or nullptr.
  KindState* Active(std::string_view name) const;

  StoreOptions options_;

  mutable std::mutex apply_mutex_;
  // The working state; guarded by apply_mutex_.
  Snapshot state_;
  std::vector<std::unique_ptr<KindState>> kinds_;
  // The latest cycle's time (the start before the first): "now" for calls that are given none.
  double last_now_ = 0;
  // A self-metric changed since the last publish, first at dirty_at_.
  bool dirty_ = false;
  double dirty_at_ = 0;
  Changes changes_;
  std::function<void(const std::shared_ptr<const Snapshot>&)> listener_;

  mutable std::mutex current_mutex_;
  // Guarded by current_mutex_ (held only to copy or swap the pointer).
  std::shared_ptr<const Snapshot> current_;
};

}  // namespace state
