// The background loop that asks the Creatify API for the state of the configured jobs and hands
// each cycle's results to the store. A cycle fans its requests out over at most
// `api.max_concurrency` workers of a pool started once; jobs the store already knows to be
// terminal are not asked for again. Scrapes never wait on it: it only writes the store.
//
// Thread-safety: Start and Stop from one controlling thread; RunCycle is for tests and must not
// run concurrently with the background loop.
#pragma once

#include <atomic>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>

#include "config/config.h"
#include "config/ids_file.h"
#include "creatify/client.h"
#include "creatify/kind.h"
#include "log/log.h"
#include "poller/fork_join_pool.h"
#include "poller/hints.h"
#include "poller/schedule.h"
#include "state/store.h"

namespace poller {

// Performs one GET of the API. `worker` is in [0, max_concurrency]: the cycle's workers, and
// max_concurrency for the hint reader. Calls with distinct workers may run at the same time.
using Fetch = std::function<creatify::Response(int worker, const std::string& path_and_query)>;

// Aborts the requests in flight (shut-down must not wait for a request's timeout).
using Cancel = std::function<void()>;

struct HttpFetch {
  Fetch fetch;
  Cancel cancel;
};

// The production Fetch: one creatify::Client (one kept-alive connection) per worker, the hint
// reader's included.
HttpFetch MakeHttpFetch(const config::Config& config, const std::string& user_agent);

// A cycle stops early after this many requests in a row got no HTTP answer at all (connect,
// timeout, TLS): the API is unreachable, and asking for every other job would only delay the
// cycle by a timeout each.
inline constexpr int kMaxConsecutiveTransportErrors = 3;

// The longest Retry-After honoured, whatever the API says: polling resumes after at most this
// (or one poll interval, if longer).
inline constexpr double kMaxRetryAfterSeconds = 600;

// Which jobs this replica tracks when the jobs are split over several exporters: those whose
// id's FNV-1a 64-bit hash (state::IdHash) modulo `total` is `index`. The workspace-wide series
// (remaining credits) come from shard 0 only.
// With workspaces, a job is (workspace, id): the hash is of "<workspace>/<id>", so that the jobs
// of every workspace spread over the replicas.
struct Shard {
  int index = 0;
  int total = 1;
  bool Owns(std::string_view job_id) const {
    return total <= 1 ||
           state::IdHash(job_id) % static_cast<uint64_t>(total) == static_cast<uint64_t>(index);
  }
  bool Owns(std::string_view workspace, std::string_view job_id) const {
    if (total <= 1) return true;
    return workspace.empty() ? Owns(job_id) : Owns(creatify::ScopedKind(workspace, job_id));
  }
  bool OwnsCredits() const { return index == 0; }
};

// The most jobs the hint reader reads in one go.
inline constexpr size_t kMaxHintsPerRead = 100;
// A cycle that read this much returns its freed memory to the system (malloc_trim): a listing of
// some 2,000 jobs. Smaller cycles leave little behind; a trim of a 100 MB heap takes some 20 ms.
inline constexpr size_t kTrimAfterBytes = 1u << 20;

// What a cycle did, for tests and logs.
struct CycleReport {
  int requests = 0;
  bool up = false;
  // Set when the API answered 429.
  bool rate_limited = false;
  // Set when a 429 said how long to wait (Retry-After): no request before that.
  std::optional<double> retry_after_seconds;
  // The size of the bodies the cycle read.
  size_t response_bytes = 0;
};

class Poller {
 public:
  // `hints` (may be null): the jobs to read as soon as they are queued, by a second thread.
  // `schedule` (may be null: the poller keeps its own): when the API may be asked; a poller that
  // replaces another (a reload) is given its predecessor's, and keeps to it.
  // The config's ids files are read now; they were readable when the config was loaded.
  Poller(config::Config config, state::Store& store, Fetch fetch, Cancel cancel = nullptr,
         Shard shard = {}, Hints* hints = nullptr, Schedule* schedule = nullptr);
  ~Poller();
  Poller(const Poller&) = delete;
  Poller& operator=(const Poller&) = delete;

  // One poll cycle, synchronously.
  CycleReport RunCycle();

  // Reads the queued hints once, synchronously (tests; the background reader does the same).
  // Returns the number of requests made.
  int ReadHints();

  // Per enabled kind, the ids given in the config, then those of its ids file as last read, each
  // once: the jobs a reload or a change of the file may take away.
  std::map<std::string, std::vector<std::string>> StaticIds() const;

  // Runs cycles in a background thread, every poll_interval (longer when the API asks for it),
  // when the schedule says: the first at once when no cycle ran on it yet, otherwise not before
  // the last cycle's start plus poll_interval nor before the end of a 429's wait.
  void Start();
  // Stops the loop and waits for the running cycle to finish; idempotent.
  void Stop();

 private:
  struct Task;
  struct Outcome;

  struct IdsFile;

  std::vector<Task> PlanCycle(std::chrono::steady_clock::time_point now) const;
  std::vector<Task> PlanHints(const std::vector<Hints::Job>& jobs) const;
  // Reads the given jobs now, and hands them to the store as a partial cycle.
  int ReadJobs(const std::vector<Hints::Job>& jobs);
  void AddIdTasks(const creatify::KindSpec& kind, int slot, const std::vector<std::string>& ids,
                  const std::string& ordering, std::vector<Task>* tasks) const;
  bool DiscoveryDue(std::string_view kind, std::chrono::steady_clock::time_point now) const;
  // Fetches and parses one task's answer.
  Outcome Perform(const Task& task, int worker) const;
  // The cycle's results, for the store.
  // `cut_short`: Stop came during the requests (see the definition).
  state::PollCycle Assemble(const std::vector<Task>& tasks, std::vector<Outcome>& outcomes,
                            std::chrono::steady_clock::time_point started, CycleReport* report,
                            bool cut_short = false);
  // Reads the ids files that changed; takes the ids that left them away from the store.
  void RefreshIdsFiles(bool initial);
  void LogOutcome(const Task& task, const Outcome& outcome);
  // "Job not found", once per job.
  void LogNotFound(const std::string& kind, const std::string& id);
  void Loop();
  void HintLoop();
  // The kind's name in the store: scoped to this poller's workspace (creatify::ScopedKind).
  std::string Scope(std::string_view kind) const {
    return creatify::ScopedKind(config_.workspace, kind);
  }
  // The first field of every log line: the workspace, left out without workspaces.
  logging::Field WorkspaceField() const {
    return {config_.workspace.empty() ? std::string_view() : "workspace", config_.workspace};
  }

  const config::Config config_;
  state::Store& store_;
  const Fetch fetch_;
  const Cancel cancel_;
  const Shard shard_;
  // The cycle's workers besides the poller's own thread: started once.
  ForkJoinPool pool_;

  Hints* const hints_;
  // Set when no schedule was given.
  std::unique_ptr<Schedule> own_schedule_;
  Schedule& schedule_;

  // Guards the ids files' state (the loop writes it, StaticIds reads it).
  mutable std::mutex ids_mutex_;
  std::map<std::string, IdsFile, std::less<>> ids_files_;

  // Guards the logging state below (the loop and the hint reader both log).
  std::mutex log_mutex_;
  // The code of the last error logged per request target (an endpoint and a job id or a list
  // query), so that an error is logged once per change, not once per attempt.
  std::map<std::string, std::string> last_error_;
  std::set<std::string> logged_not_found_;
  // When each discovering kind was last listed completely.
  std::map<std::string, std::chrono::steady_clock::time_point, std::less<>> last_discovery_;

  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;  // guarded by mutex_
  std::atomic<bool> stop_hints_{false};
  std::thread thread_;
  std::thread hint_thread_;
};

}  // namespace poller
