// The simulated Creatify workspace: owns the jobs, the credits, the injected faults and the
// request counts, and answers each HTTP request as the real API would. Deterministic for a seed
// and a sequence of (request, time): time is a parameter, and nothing here sleeps or does I/O.
// Thread-safe: one mutex serialises every public call.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "simulator/jobs.h"

namespace simulator {

struct Options {
  std::uint64_t seed = 1;
  // The kinds served: the built-in ones, then any custom kinds.
  KindTable kinds = BuiltinKinds();
  // Jobs of each kind created at start, by kind name; a kind not named has none.
  std::map<std::string, int, std::less<>> initial_jobs = {
      {"ads_clone", 5}, {"custom_template", 5}, {"aurora", 5}};
  // A new job of the kind every this long, by kind name (absent or 0: never), while the kind
  // has fewer than max_jobs.
  std::map<std::string, Millis, std::less<>> spawn_interval;
  int max_jobs = 1000;
  JobParams job;
  double initial_credits = 10000;
  // Jobs stay pending until Release (POST /sim/release).
  bool hold = false;
  // Probabilities per authenticated API request; their sum is at most 1.
  double fault_429 = 0;
  double fault_5xx = 0;
  double fault_malformed = 0;
  int retry_after_seconds = 1;
  std::string api_id = "demo-id";
  std::string api_key = "demo-key";
};

// Header names and query parameters, in arrival order; header names match case-insensitively.
using Pairs = std::vector<std::pair<std::string, std::string>>;

struct Response {
  int status = 200;
  // Content-Type included.
  Pairs headers;
  std::string body;
  // An /api/ request: the server delays these by --latency, never /sim/ ones.
  bool api = false;
};

class Model {
 public:
  // `start` is the process start: initial jobs were created just before it, and their clocks
  // start at it unless options.hold.
  Model(Options options, Time start);

  // Routes:
  //   GET {path}{id}/ for every kind of options.kinds
  //   GET {path} for the kinds with a list (?ids=a,b at most 100, ?ordering=[-]field)
  //   GET /api/remaining_credits/
  //   GET /sim/state, POST /sim/release (no authentication, never faulted or counted)
  // An /api/ request is routed, then authenticated (401 without credentials, 403 with wrong
  // ones), then faults are drawn, then it is answered. Every /api/ answer is counted.
  // `now` earlier than a previous call's is taken as that call's time: time never goes back.
  Response Answer(std::string_view method, std::string_view path, const Pairs& query,
                  const Pairs& headers, Time now);

  // The body of GET /sim/state at `now`.
  std::string StateJson(Time now);

  // Starts the clocks of held jobs at `now`; later calls change nothing.
  void Release(Time now);

  // The ids of the kind's jobs (its index in options.kinds) at `now`, in creation order.
  std::vector<std::string> Ids(std::size_t kind, Time now);

  // The jobs that are terminal at `now`, every kind, in creation order (for webhook calls).
  struct Finished {
    std::size_t kind = 0;
    std::string id;
    Phase phase = Phase::kDone;
  };
  std::vector<Finished> FinishedJobs(Time now);

 private:
  struct Counts {
    std::map<std::string, std::map<int, long>, std::less<>> by_endpoint_code;
    std::map<std::string, long, std::less<>> faults;
    std::vector<long> invalid_items_sent;
    std::vector<long> invalid_fields_sent;
  };

  // Moves the model's clock to max(now, last time seen) and creates the jobs due by then.
  Time AdvanceLocked(Time now);
  // options.initial_jobs of the kind.
  int InitialJobs(std::size_t kind) const;
  void AddJobLocked(std::size_t kind, Time created);
  std::optional<Time> ClockStartLocked(const Job& job) const;
  double RemainingCreditsLocked(Time now) const;
  Response AnswerApiLocked(std::string_view method, std::string_view path, const Pairs& query,
                           const Pairs& headers, Time now, std::string* endpoint);
  std::string StateJsonLocked(Time now) const;

  const Options options_;
  const Time start_;

  std::mutex mu_;
  Time now_;                                                                    // guarded by mu_
  std::optional<Time> released_at_;                                             // guarded by mu_
  std::vector<std::vector<Job>> jobs_;                                          // guarded by mu_
  std::unordered_map<std::string, std::pair<std::size_t, std::size_t>> by_id_;  // guarded by mu_
  std::mt19937_64 fault_rng_;                                                   // guarded by mu_
  Counts counts_;                                                               // guarded by mu_
};

// A ready exporter config (YAML) for a simulator reachable at `base_url`. Credentials are not in
// it: the exporter reads them from CREATIFY_API_ID and CREATIFY_API_KEY. `state_path` becomes
// state.path; without it the key is left out and the exporter's default applies.
std::string ExporterConfigYaml(std::string_view base_url, Millis poll_interval,
                               const std::vector<std::string>& ads_clone_ids,
                               const std::vector<std::string>& custom_template_ids,
                               const std::optional<std::string>& state_path);

}  // namespace simulator
