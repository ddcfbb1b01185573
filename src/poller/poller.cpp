#include "poller/poller.h"

#include <malloc.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <chrono>
#include <unordered_set>
#include <vector>

#include "creatify/kind.h"
#include "creatify/parse.h"
#include "log/log.h"
#include "state/clock.h"

namespace poller {
namespace {

constexpr char kCreditsEndpoint[] = "remaining_credits";
constexpr char kCreditsPath[] = "/api/remaining_credits/";

std::string QueryEscape(std::string_view value) {
  static const char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (char ch : value) {
    auto c = static_cast<unsigned char>(ch);
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~' || c == ',') {
      out += ch;
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 0xf];
    }
  }
  return out;
}

bool IsSuccess(int status) { return status >= 200 && status < 300; }

}  // namespace

// One request of a cycle.
struct Poller::Task {
  // Index into the cycle's KindPolls, or -1 for the remaining credits.
  int kind_slot = -1;
  const creatify::KindSpec* kind = nullptr;
  std::string path;
  // For a job fetched by id: its id.
  std::string job_id;
  // For jobs fetched by ?ids=: their ids.
  std::vector<std::string> ids;
  // The full listing of the kind (discovery).
  bool listing = false;
};

struct Poller::Outcome {
  bool done = false;
  // The API answered usably (a 404 for a job asked by id counts: the API is fine, the job is not
  // there).
  bool good = false;
  bool not_found = false;
  std::string code;
  creatify::Response response;
  creatify::ParseResult parsed;
  std::optional<double> credits;
  std::string error;
};

HttpFetch MakeHttpFetch(const config::Config& config, const std::string& user_agent) {
  auto clients = std::make_shared<std::vector<std::unique_ptr<creatify::Client>>>();
  for (int i = 0; i <= config.max_concurrency; ++i) {
    clients->push_back(std::make_unique<creatify::Client>(creatify::ClientOptions{
        .base_url = config.base_url,
        .api_id = config.api_id,
        .api_key = config.api_key,
        .timeout = config.timeout,
        .user_agent = user_agent,
        .max_body_bytes = static_cast<std::size_t>(config.max_body_bytes),
        .ca_file = config.ca_file,
    }));
  }
  return {
      .fetch = [clients](int worker,
                         const std::string& path) { return (*clients)[worker]->Get(path); },
      .cancel =
          [clients] {
            for (auto& client : *clients) client->Cancel();
          },
  };
}

// A kind's ids file as last read.
struct Poller::IdsFile {
  std::string path;
  std::optional<config::FileVersion> version;
  // The ids of the last good read, in file order.
  std::vector<std::string> ids;
  // Malformed lines already logged, and the last read error logged.
  std::set<std::string> logged_lines;
  std::string logged_error;
};

Poller::Poller(config::Config config, state::Store& store, Fetch fetch, Cancel cancel, Shard shard,
               Hints* hints, Schedule* schedule)
    : config_(std::move(config)),
      store_(store),
      fetch_(std::move(fetch)),
      cancel_(std::move(cancel)),
      shard_(shard),
      pool_(std::max(0, config_.max_concurrency - 1)),
      hints_(hints),
      own_schedule_(schedule ? nullptr : std::make_unique<Schedule>()),
      schedule_(schedule ? *schedule : *own_schedule_) {
  for (const auto& kind : config_.kind_table) {
    if (!config_.KindEnabled(kind.name)) continue;
    const auto& section = config_.kinds.find(kind.name)->second;
    if (!section.ids_file.empty()) ids_files_[std::string(kind.name)].path = section.ids_file;
  }
  RefreshIdsFiles(/*initial=*/true);
}

void Poller::RefreshIdsFiles(bool initial) {
  const double now = state::UnixNow();
  std::lock_guard<std::mutex> lock(ids_mutex_);
  for (auto& [kind, file] : ids_files_) {
    std::string error;
    auto version = config::StatFile(file.path, &error);
    std::optional<config::IdsFileContent> content;
    if (version && version == file.version) continue;
    if (version) content = config::ReadIdsFile(file.path, &error);
    if (!content) {
      // The ids last read stay in use: a file being replaced, or a volume being remounted, must
      // not take every job away.
      store_.SetIdsFile(Scope(kind), 0, 0, /*read_failed=*/true);
      if (error != file.logged_error) {
        logging::Warn("Cannot read the ids file; keeping the ids last read",
                      {WorkspaceField(), {"kind", kind}, {"error", error}});
        file.logged_error = error;
      }
      continue;
    }
    file.logged_error.clear();
    file.version = version;
    for (const auto& line : content->invalid) {
      if (file.logged_lines.insert(line.text).second) {
        logging::Warn("Ignored a line of the ids file that is not a job id",
                      {WorkspaceField(),
                       {"kind", kind},
                       {"file", file.path},
                       {"line", std::to_string(line.number)},
                       {"text", line.text}});
      }
    }
    if (!initial) {
      // Ids that left the file leave the output, unless the config itself still names them.
      const auto& config_ids = config_.kinds.find(kind)->second.ids;
      std::set<std::string> kept(content->ids.begin(), content->ids.end());
      kept.insert(config_ids.begin(), config_ids.end());
      std::vector<std::string> removed;
      for (const auto& id : file.ids) {
        if (!kept.contains(id)) removed.push_back(id);
      }
      if (!removed.empty()) store_.RemoveJobs(Scope(kind), removed, now);
      logging::Info("Read the ids file again", {WorkspaceField(),
                                                {"kind", kind},
                                                {"ids", std::to_string(content->ids.size())},
                                                {"removed", std::to_string(removed.size())}});
    }
    store_.SetIdsFile(Scope(kind), static_cast<double>(content->ids.size()),
                      static_cast<double>(content->invalid.size()), false);
    file.ids = std::move(content->ids);
  }
}

std::map<std::string, std::vector<std::string>> Poller::StaticIds() const {
  std::map<std::string, std::vector<std::string>> ids;
  for (const auto& kind : config_.kind_table) {
    if (!config_.KindEnabled(kind.name)) continue;
    ids[std::string(kind.name)] = config_.kinds.find(kind.name)->second.ids.vector();
  }
  std::lock_guard<std::mutex> lock(ids_mutex_);
  for (const auto& [kind, file] : ids_files_) {
    auto& list = ids[kind];
    // Copies, not views: a view of an id in `list` would dangle once push_back moves its strings.
    std::unordered_set<std::string> seen(list.begin(), list.end());
    for (const auto& id : file.ids) {
      if (seen.insert(id).second) list.push_back(id);
    }
  }
  if (config_.workspace.empty()) return ids;
  std::map<std::string, std::vector<std::string>> scoped;
  for (auto& [kind, list] : ids) scoped.emplace(Scope(kind), std::move(list));
  return scoped;
}

Poller::~Poller() { Stop(); }

bool Poller::DiscoveryDue(std::string_view kind, std::chrono::steady_clock::time_point now) const {
  auto it = last_discovery_.find(kind);
  if (it == last_discovery_.end()) return true;
  const auto interval = config_.discovery_interval.value_or(config_.poll_interval);
  // A cycle that starts a little early still lists: the interval is the period, not a minimum.
  return now - it->second + config_.poll_interval / 10 >= interval;
}

void Poller::AddIdTasks(const creatify::KindSpec& kind, int slot,
                        const std::vector<std::string>& ids, const std::string& ordering,
                        std::vector<Task>* tasks) const {
  if (kind.list && kind.max_ids_per_request > 0) {
    const size_t batch = static_cast<size_t>(kind.max_ids_per_request);
    for (size_t i = 0; i < ids.size(); i += batch) {
      std::vector<std::string> asked(
          ids.begin() + static_cast<std::ptrdiff_t>(i),
          ids.begin() + static_cast<std::ptrdiff_t>(std::min(i + batch, ids.size())));
      std::string joined;
      for (const auto& id : asked) {
        if (!joined.empty()) joined += ',';
        joined += id;
      }
      std::string path = std::string(kind.path) + "?ids=" + QueryEscape(joined);
      if (!ordering.empty()) path += "&" + ordering;
      tasks->push_back({slot, &kind, std::move(path), "", std::move(asked)});
    }
  } else {
    for (const auto& id : ids) {
      tasks->push_back({slot, &kind, std::string(kind.path) + QueryEscape(id) + "/", id});
    }
  }
}

std::vector<Poller::Task> Poller::PlanCycle(std::chrono::steady_clock::time_point now) const {
  std::vector<Task> tasks;
  const auto static_ids = StaticIds();
  auto snapshot = store_.Current();
  int slot = 0;
  for (const auto& kind : config_.kind_table) {
    if (!config_.KindEnabled(kind.name)) continue;
    const auto& kind_config = config_.kinds.find(kind.name)->second;
    std::string ordering;
    if (kind.list && !kind_config.ordering.empty()) {
      ordering = "ordering=" + QueryEscape(kind_config.ordering);
    }
    if (config_.KindDiscovers(kind.name) && DiscoveryDue(kind.name, now)) {
      // The whole list holds every job of the kind, the configured ones included.
      Task listing{slot, &kind, std::string(kind.path) + (ordering.empty() ? "" : "?" + ordering),
                   ""};
      listing.listing = true;
      tasks.push_back(std::move(listing));
      ++slot;
      continue;
    }
    // The configured ids, then every other unfinished job the store tracks (found by a listing,
    // announced by a webhook, or restored), each once.
    std::vector<std::string> pending_ids;
    std::unordered_set<std::string_view> planned;
    const std::string scoped = Scope(kind.name);
    auto configured = static_ids.find(scoped);
    if (configured != static_ids.end()) {
      for (const auto& id : configured->second) {
        if (shard_.Owns(config_.workspace, id) && !store_.IsFinished(scoped, id)) {
          pending_ids.push_back(id);
          planned.insert(id);
        }
      }
    }
    if (const state::KindSnapshot* known = snapshot->FindKind(scoped)) {
      for (const auto& record : known->jobs) {
        if (!creatify::IsTerminal(record->status) && !planned.contains(record->job.id)) {
          pending_ids.push_back(record->job.id);
        }
      }
    }
    AddIdTasks(kind, slot, pending_ids, ordering, &tasks);
    ++slot;
  }
  if (shard_.OwnsCredits()) tasks.push_back({-1, nullptr, kCreditsPath, ""});
  return tasks;
}

std::vector<Poller::Task> Poller::PlanHints(const std::vector<Hints::Job>& jobs) const {
  std::vector<Task> tasks;
  int slot = 0;
  for (const auto& kind : config_.kind_table) {
    if (!config_.KindEnabled(kind.name)) continue;
    std::vector<std::string> ids;
    const std::string scoped = Scope(kind.name);
    for (const auto& [job_kind, id] : jobs) {
      if (job_kind == scoped && shard_.Owns(config_.workspace, id) &&
          !store_.IsFinished(scoped, id)) {
        ids.push_back(id);
      }
    }
    AddIdTasks(kind, slot, ids, "", &tasks);
    ++slot;
  }
  return tasks;
}

Poller::Outcome Poller::Perform(const Task& task, int worker) const {
  Outcome out;
  out.response = fetch_(worker, task.path);
  out.done = true;
  out.code = out.response.code;
  if (!IsSuccess(out.response.status)) {
    if (out.response.status == 404 && !task.job_id.empty()) {
      out.good = true;
      out.not_found = true;
    } else {
      out.error = out.response.status == 0 ? out.response.error
                                           : "HTTP " + std::to_string(out.response.status);
    }
    return out;
  }
  if (task.kind == nullptr) {
    out.credits = creatify::ParseRemainingCredits(out.response.body, &out.error);
    out.good = out.credits.has_value();
  } else if (task.job_id.empty()) {
    out.parsed = creatify::ParseJobList(*task.kind, out.response.body);
    out.good = out.parsed.ok;
    out.error = out.parsed.error;
  } else {
    out.parsed = creatify::ParseJobObject(*task.kind, out.response.body, task.job_id);
    out.good = out.parsed.ok;
    out.error = out.parsed.error;
  }
  if (!out.good) out.code = "parse";
  return out;
}

CycleReport Poller::RunCycle() {
  RefreshIdsFiles(/*initial=*/false);
  const auto started = std::chrono::steady_clock::now();
  std::vector<Task> tasks = PlanCycle(started);
  std::vector<Outcome> outcomes(tasks.size());

  std::atomic<size_t> next{0};
  // Set on a 429, a 401 or 403, or after kMaxConsecutiveTransportErrors requests in a row got no
  // answer: the rest of the cycle is not asked for (refused credentials or an unreachable API
  // must not cost one failing request per job).
  std::atomic<bool> stop_asking{false};
  std::atomic<int> transport_errors_in_a_row{0};
  std::mutex retry_mutex;
  std::optional<double> retry_after;
  std::atomic<bool> got_429{false};

  auto work = [&](int worker) {
    for (;;) {
      if (stop_asking.load()) return;
      {
        std::lock_guard<std::mutex> lock(mutex_);
        if (stopping_) return;
      }
      size_t i = next.fetch_add(1);
      if (i >= tasks.size()) return;
      Outcome& out = outcomes[i];
      out = Perform(tasks[i], worker);
      if (out.response.status == 0) {
        if (++transport_errors_in_a_row >= kMaxConsecutiveTransportErrors) stop_asking.store(true);
      } else {
        transport_errors_in_a_row.store(0);
      }
      if (out.response.status == 401 || out.response.status == 403) stop_asking.store(true);
      if (out.response.status == 429) {
        stop_asking.store(true);
        got_429.store(true);
      }
      if (out.response.status == 429 && out.response.retry_after_seconds) {
        std::lock_guard<std::mutex> lock(retry_mutex);
        double wait = *out.response.retry_after_seconds;
        if (!(wait >= 0)) wait = 0;  // also NaN
        wait =
            std::min(wait, std::max(kMaxRetryAfterSeconds,
                                    std::chrono::duration<double>(config_.poll_interval).count()));
        retry_after = std::max(retry_after.value_or(0), wait);
      }
    }
  };

  const int workers =
      std::max(1, std::min<int>(config_.max_concurrency, static_cast<int>(tasks.size())));
  pool_.Run(workers, work);

  bool cut_short = false;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    cut_short = stopping_;
  }
  CycleReport report;
  state::PollCycle cycle = Assemble(tasks, outcomes, started, &report, cut_short);
  store_.Apply(cycle);

  report.up = cycle.up;
  report.rate_limited = got_429.load();
  report.retry_after_seconds = retry_after;
  if (logging::Enabled(logging::Level::kDebug)) {
    logging::Debug("Poll cycle finished",
                   {WorkspaceField(),
                    {"requests", std::to_string(report.requests)},
                    {"up", cycle.up ? "1" : "0"},
                    {"duration_seconds", std::to_string(cycle.duration_seconds)}});
  }
  return report;
}

state::PollCycle Poller::Assemble(const std::vector<Task>& tasks, std::vector<Outcome>& outcomes,
                                  std::chrono::steady_clock::time_point started,
                                  CycleReport* report, bool cut_short) {
  state::PollCycle cycle;
  cycle.workspace = config_.workspace;
  // Cut short by Stop (a reload, or shut-down): the requests it cancelled say nothing of the
  // API, and the cycle is not a whole one.
  cycle.partial = cut_short;
  // Every kind the store renders has its KindPoll, in the order PlanCycle numbered them; an
  // enabled kind with nothing to ask for is up to date by definition.
  for (const auto& kind : config_.kind_table) {
    if (!config_.KindEnabled(kind.name)) continue;
    state::KindPoll poll;
    poll.kind = Scope(kind.name);
    poll.success = true;
    cycle.kinds.push_back(std::move(poll));
  }
  cycle.up = true;
  for (size_t i = 0; i < tasks.size(); ++i) {
    const Task& task = tasks[i];
    Outcome& out = outcomes[i];
    const std::string endpoint = task.kind ? std::string(task.kind->name) : kCreditsEndpoint;
    if (cut_short && out.done && out.response.status == 0) out = Outcome{};
    if (out.done) {
      report->requests++;
      report->response_bytes += out.response.body.size();
      cycle.requests.push_back({Scope(endpoint), out.code, out.response.seconds});
      LogOutcome(task, out);
    }
    if (!out.done || !out.good) cycle.up = false;
    if (task.kind == nullptr) {
      if (out.good) cycle.remaining_credits = out.credits;
      continue;
    }
    state::KindPoll& poll = cycle.kinds[static_cast<size_t>(task.kind_slot)];
    if (!out.done || !out.good) poll.success = false;
    if (task.listing && out.done && out.good) {
      poll.complete_listing = true;
      last_discovery_[std::string(task.kind->name)] = started;
    }
    if (out.not_found) poll.not_found.push_back(task.job_id);
    // An ?ids= answer leaves out the ids the API does not know: each counts as a 404 of a job
    // asked by id would, unless the answer had items that could not be read (the id may be one).
    if (!task.ids.empty() && out.done && out.good && out.parsed.invalid_items == 0) {
      std::unordered_set<std::string_view> answered;
      for (const auto& job : out.parsed.jobs) answered.insert(job.id);
      for (const auto& id : task.ids) {
        if (answered.contains(id)) continue;
        poll.not_found.push_back(id);
        LogNotFound(task.kind->name, id);
      }
    }
    // A listing with malformed items is not a complete one: a job missing from it may be one of
    // the malformed items.
    if (out.parsed.invalid_items > 0) poll.complete_listing = false;
    // A listing holds every shard's jobs: keep this replica's.
    std::erase_if(out.parsed.jobs, [this](const creatify::Job& job) {
      return !shard_.Owns(config_.workspace, job.id);
    });
    if (poll.jobs.empty()) {
      poll.jobs = std::move(out.parsed.jobs);
    } else {
      std::move(out.parsed.jobs.begin(), out.parsed.jobs.end(), std::back_inserter(poll.jobs));
    }
    poll.invalid_items += out.parsed.invalid_items;
    for (auto& field : out.parsed.invalid_fields) poll.invalid_fields.push_back(std::move(field));
  }
  cycle.duration_seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  cycle.finished_at = state::UnixNow();
  return cycle;
}

int Poller::ReadHints() {
  if (hints_ == nullptr) return 0;
  bool nudged = false;
  auto jobs = hints_->Wait(
      std::chrono::steady_clock::now(), [] { return true; }, kMaxHintsPerRead, &nudged,
      config_.workspace);
  if (jobs.empty()) {
    if (nudged) store_.PublishIfChanged();
    return 0;
  }
  return ReadJobs(jobs);
}

int Poller::ReadJobs(const std::vector<Hints::Job>& jobs) {
  const auto started = std::chrono::steady_clock::now();
  // After a 429 the API is not asked before the time it named, not even for an announced job
  // (nor after a reload: the wait is the schedule's): the jobs stay tracked, and the first cycle
  // after the wait reads them.
  if (!schedule_.MayAsk()) return 0;
  std::vector<Task> tasks = PlanHints(jobs);
  std::vector<Outcome> outcomes(tasks.size());
  for (size_t i = 0; i < tasks.size(); ++i) {
    if (stop_hints_.load()) break;
    outcomes[i] = Perform(tasks[i], config_.max_concurrency);
    // Refused, rate limited or unreachable: the jobs stay tracked, and the next poll cycle reads
    // them.
    const int status = outcomes[i].response.status;
    if (status == 401 || status == 403 || status == 429 || status == 0) break;
  }
  CycleReport report;
  state::PollCycle cycle = Assemble(tasks, outcomes, started, &report, stop_hints_.load());
  cycle.partial = true;
  // Apply publishes, the self-metrics included.
  store_.Apply(cycle);
  return report.requests;
}

void Poller::LogNotFound(const std::string& kind, const std::string& id) {
  std::lock_guard<std::mutex> lock(log_mutex_);
  if (logged_not_found_.insert(kind + " " + id).second) {
    logging::Warn(
        "Job not found: deleted at the API, or a wrong id (in the config, an ids file or a "
        "webhook call)",
        {WorkspaceField(), {"kind", kind}, {"job_id", id}});
  }
}

void Poller::LogOutcome(const Task& task, const Outcome& outcome) {
  std::lock_guard<std::mutex> lock(log_mutex_);
  const std::string endpoint = task.kind ? std::string(task.kind->name) : kCreditsEndpoint;
  const std::string target = endpoint + " " + (task.job_id.empty() ? task.path : task.job_id);
  if (outcome.not_found) {
    if (logged_not_found_.insert(target).second) {
      logging::Warn(
          "Job not found: deleted at the API, or a wrong id (in the config, an ids file or a "
          "webhook call)",
          {WorkspaceField(), {"kind", endpoint}, {"job_id", task.job_id}});
    }
    return;
  }
  auto last = last_error_.find(target);
  if (outcome.good) {
    if (last != last_error_.end()) {
      logging::Info("Creatify API answers again",
                    {WorkspaceField(), {"endpoint", endpoint}, {"job_id", task.job_id}});
      last_error_.erase(last);
    }
    if (outcome.parsed.invalid_items > 0 || !outcome.parsed.invalid_fields.empty()) {
      logging::Debug("Skipped malformed parts of a response",
                     {WorkspaceField(),
                      {"endpoint", endpoint},
                      {"invalid_items", std::to_string(outcome.parsed.invalid_items)},
                      {"invalid_fields", std::to_string(outcome.parsed.invalid_fields.size())}});
    }
    return;
  }
  // A change is a change of code: the same failure with another body excerpt or size (a
  // truncated answer of a job that moved on) is the same news.
  if (last != last_error_.end() && last->second == outcome.code) return;
  last_error_[target] = outcome.code;
  logging::Warn("Creatify API request failed; serving the last known data",
                {WorkspaceField(),
                 {"endpoint", endpoint},
                 {"job_id", task.job_id},
                 {"code", outcome.code},
                 {"error", outcome.error}});
}

void Poller::Start() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = false;
  }
  stop_hints_.store(false);
  thread_ = std::thread([this] { Loop(); });
  if (hints_ != nullptr) hint_thread_ = std::thread([this] { HintLoop(); });
}

void Poller::Stop() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  stop_hints_.store(true);
  wake_.notify_all();
  if (hints_ != nullptr) hints_->Interrupt();
  if (cancel_ && (thread_.joinable() || hint_thread_.joinable())) cancel_();
  if (thread_.joinable()) thread_.join();
  if (hint_thread_.joinable()) hint_thread_.join();
}

void Poller::HintLoop() {
  LowerThreadPriority();
  // Self-metrics (a refused webhook call, say) are published at most once a second: a flood of
  // bad calls must not make the exporter render its whole body for each.
  constexpr auto kPublishEvery = std::chrono::seconds(1);
  auto last_publish = std::chrono::steady_clock::now() - kPublishEvery;
  bool publish_due = false;
  for (;;) {
    const auto now = std::chrono::steady_clock::now();
    const auto deadline = publish_due ? last_publish + kPublishEvery : now + std::chrono::hours(1);
    bool nudged = false;
    auto jobs = hints_->Wait(
        deadline, [this] { return stop_hints_.load(); }, kMaxHintsPerRead, &nudged,
        config_.workspace);
    if (stop_hints_.load()) return;
    publish_due = publish_due || nudged;
    if (!jobs.empty()) {
      ReadJobs(jobs);
      last_publish = std::chrono::steady_clock::now();
      publish_due = false;
    }
    if (publish_due && std::chrono::steady_clock::now() >= last_publish + kPublishEvery) {
      store_.PublishIfChanged();
      last_publish = std::chrono::steady_clock::now();
      publish_due = false;
    }
  }
}

void Poller::Loop() {
  LowerThreadPriority();
  for (;;) {
    {
      std::unique_lock<std::mutex> lock(mutex_);
      const auto next = schedule_.NextCycleAt(config_.poll_interval);
      if (schedule_.clock().WaitUntil(lock, wake_, next, [this] { return stopping_; })) return;
    }
    schedule_.CycleStarted();
    CycleReport report = RunCycle();
    // A cycle's responses and parse results are freed by now: after a large listing, hand the
    // pages back, so that resident memory follows what the store holds rather than the largest
    // listing ever read. Not after a small cycle: a trim holds the allocator's locks while it
    // walks the heap (some 20 ms at 100 MB), and scrapes allocate too. From some 2,000 jobs on it
    // is every cycle, whose own work takes far longer.
    if (report.response_bytes >= kTrimAfterBytes) malloc_trim(0);
    bool whole = true;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      whole = !stopping_;
    }
    schedule_.CycleFinished(config_.poll_interval, report.rate_limited, report.retry_after_seconds,
                            whole);
  }
}

}  // namespace poller
