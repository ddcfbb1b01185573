// The reference model of the counting contract (issue 15, "Counts that cannot lie"), written
// from the README and the issue, sharing no code with src/: given what the API answered for
// each job and what happened to the exporter (starts, kills, clean stops, reloads, a full state
// disk, webhooks, ids files), it says what every counting series must show at a quiet point.
//
// The contract, as the model states it:
// - A job is counted once (completed{status} +1, credits += credits_used or 0, processing
//   observes updated_at - created_at when both are known and updated >= created) when the
//   exporter takes its terminal answer, if it finished while watched: it was seen unfinished
//   before (that sighting surviving restarts only when it was written), or it is first seen
//   terminal with created_at >= watching_since and created_at >= now - forget_after. A job
//   announced by a webhook follows the same rule as a listed one.
// - A terminal answer with a null, missing or malformed credits_used, created_at or updated_at
//   is put off for 3 answers; the first clean one within them is counted with its values, else
//   the 4th is counted with what is known (credits 0, created_at from earlier answers).
// - A job taken once is never counted again: not after a restart, a reload, a lower
//   max_tracked_jobs, a kind switched off and on, an ids file change or a forgotten retention.
// - A job refused for max_tracked_jobs is counted once in jobs_dropped_total{reason="limit"}.
// - Counters survive anything; while state writes fail, /metrics shows what was last written.
// - With `workspaces:`, all of this holds per (workspace, kind, id): the same id in two workspaces
//   is two jobs, a workspace removed from the config leaves the output and keeps what it knew,
//   whole when it returns, and max_tracked_jobs is one cap over all workspaces.
//
// Not thread-safe.
#pragma once

#include <map>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "checker/fake_api.h"

namespace checker {

inline constexpr const char* kAdsClone = "ads_clone";  // asked for by id
inline constexpr const char* kAurora = "aurora";       // listed
inline constexpr int kDeferredAnswers = 3;

// The model's name of a job: its id without workspaces, "<workspace>/<kind>/<id>" with them (an
// id is unique only within its workspace).
std::string JobKey(const ApiJob& job);

// The exporter's configuration, as far as counting is concerned.
struct ModelConfig {
  bool ads_clone_enabled = true;
  bool aurora_enabled = true;
  // With `workspaces:`: every workspace of the sequence (empty: no workspaces), the ones the
  // config has now, and the kinds whose section a configured workspace leaves out
  // ("<workspace>/<kind>"). ads_clone_enabled and aurora_enabled stay true then.
  std::vector<std::string> all_workspaces;
  std::set<std::string> workspaces;
  std::set<std::string> kinds_off;
  std::set<std::string> config_ids;  // ads_clone jobs (JobKey) in the config
  std::set<std::string> file_ids;    // ads_clone jobs (JobKey) in the ids file
  size_t max_tracked_jobs = 10000;
  double terminal_retention = 900;
  double forget_after = 7 * 24 * 3600;
  // breakdown.fields (never changed within a sequence) and breakdown.max_values.
  std::vector<std::string> breakdown_fields;
  size_t breakdown_max_values = 2;

  // The kind is polled in the workspace ("" without workspaces).
  bool Enabled(const std::string& workspace, const std::string& kind) const {
    if (!all_workspaces.empty()) {
      return workspaces.contains(workspace) && !kinds_off.contains(workspace + "/" + kind);
    }
    return kind == kAdsClone ? ads_clone_enabled : aurora_enabled;
  }
  bool Enabled(const ApiJob& job) const { return Enabled(job.workspace, job.kind); }
  bool Listed(const std::string& key) const {
    return config_ids.contains(key) || file_ids.contains(key);
  }
};

// What the exporter knows of a job, as the contract has it.
struct Facts {
  bool tracked = false;          // holds it: unfinished, announced, or finished and shown
  bool announced = false;        // a webhook named it and no answer was taken yet
  bool seen_unfinished = false;  // took an unfinished answer
  bool taken = false;            // took its terminal answer (counted or not)
  bool remembered = false;       // finished and left the output: never taken again
  bool refused = false;          // counted in jobs_dropped_total{reason="limit"}
  bool counted = false;
  std::string status;                // counted status
  double credits = 0;                // counted credits
  std::optional<double> processing;  // observed processing seconds
  // The job's breakdown fields when counted: (field, value as served, "" when not carried).
  std::vector<std::pair<std::string, std::string>> breakdown;
};

// Per breakdown field, the values that have a label value of their own, as /metrics shows them.
using Named = std::map<std::string, std::set<std::string>>;

using Series = std::map<std::string, double>;  // "name{labels}" -> value

class Model {
 public:
  // Every job, in creation order, as the API (of its workspace) now serves it.
  std::vector<ApiJob> jobs;
  // By JobKey.
  std::map<std::string, Facts> memory;   // the running exporter's knowledge
  std::map<std::string, Facts> durable;  // as last written
  ModelConfig config;
  bool running = false;
  bool disk_full = false;
  // The time of the first start (an upper bound: jobs are created after it).
  double watching_since = 0;
  // This replica's shard (--shard, --total-shards): it counts only the jobs it owns.
  int shard = 0;
  int total_shards = 1;

  // The README's rule: FNV-1a-64 of the id's bytes ("<workspace>/<id>" with workspaces), modulo
  // the number of shards.
  bool Owns(const ApiJob& job) const;

  // By JobKey.
  const ApiJob* Find(const std::string& key) const;
  void Put(const ApiJob& job);

  // A start with `config`: restores what was written, then puts the jobs over the cap aside.
  void Start(const ModelConfig& next);
  // A SIGKILL (or a SIGTERM whose last write fails): what was not written is lost.
  void Kill();
  // A SIGTERM with a working disk: the last write keeps everything.
  void Terminate();
  // A reload, or the exporter's re-reading of the ids file.
  void Reconfigure(const ModelConfig& next);
  // A webhook for the job of this JobKey.
  void Webhook(const std::string& key);
  void SetDiskFull(bool full);

  // What the exporter must have taken once it read every job in its current state (a quiet
  // point), at Unix time `now`.
  void Observe(double now);

  // The counting series /metrics must show now, for the enabled kinds (of the configured
  // workspaces, each series with its `workspace` label first).
  Series Expected() const;
  // The breakdown families /metrics must show now, given the values the exporter named (which
  // values get names depends on the order in which one poll counted jobs: the driver checks the
  // names apart, with BreakdownNamesWrong). Every series, none missing and none more.
  Series ExpectedBreakdown(const Named& named) const;
  // Why the named values cannot be right, or "": at most max_values per field, each a value of a
  // counted job, and (when `every_kind_on`: no kind was ever switched off) a counted value
  // without a name only when the field has max_values names. `named`: every name /metrics
  // showed so far (a name, once given, stays).
  std::string BreakdownNamesWrong(const Named& named, bool every_kind_on) const;
  // A terminal answer the exporter must still read before the model's point is reached: one
  // with a bad field is put off, so the fake API must have served `total` terminal answers of
  // the job in all, and `since_start` since the exporter started (deferrals are not written).
  struct Pending {
    std::string key;
    int total = 0;
    int since_start = 0;
  };
  std::vector<Pending> PendingTerminal() const;

  size_t Tracked() const;

 private:
  static std::set<std::string> ListedIds(const ModelConfig& config);
};

// A series key as the driver builds it from an exposition.
std::string SeriesKey(const std::string& name, const std::map<std::string, std::string>& labels);

}  // namespace checker
