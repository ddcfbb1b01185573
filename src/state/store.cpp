#include "state/store.h"

#include <algorithm>
#include <queue>
#include <set>
#include <stdexcept>

#include "state/clock.h"
#include "state/series.h"

namespace state {

using creatify::IsTerminal;
using creatify::Status;

namespace {

// The fields a terminal transition counts are not all there: one is malformed, null or missing in
// `answer` (created_at may come from an earlier answer: `merged` holds it). Counting now would
// make the counters wrong for good.
bool LacksCountedField(const creatify::Job& answer, const creatify::JobFields& merged) {
  for (const auto& field : answer.invalid_fields) {
    if (field == "credits_used" || field == "created_at" || field == "updated_at") return true;
  }
  return !merged.credits_used || !merged.created_at || !merged.updated_at;
}

KindSnapshot EmptyKind(std::string name) {
  KindSnapshot kind;
  kind.name = std::move(name);
  for (Status status : creatify::kTerminalStatuses) {
    kind.completed[status] = 0;
    kind.processing.emplace(status, Histogram(ProcessingBuckets()));
  }
  for (const char* stage : {"queued", "running"}) kind.stage.emplace(stage, StageBuckets());
  kind.dropped["limit"] = 0;
  kind.dropped["not_found"] = 0;
  return kind;
}

// The least created_at per unfinished status of the jobs that were read.
std::map<Status, double> OldestUnfinished(const JobList& jobs) {
  std::map<Status, double> oldest;
  for (const auto& record : jobs) {
    if (record->unread || IsTerminal(record->status) || !record->job.created_at) continue;
    const double created = *record->job.created_at;
    auto [it, added] = oldest.try_emplace(record->status, created);
    if (!added && created < it->second) it->second = created;
  }
  return oldest;
}

// Hashes ids for the job table (heterogeneous lookup by string_view).
// noexcept, so that the map's nodes do not keep each id's hash (8 bytes a job): a rehash, an erase
// and a lookup that walks past a bucket's first node hash ids again (a few short ids per change).
struct IdHasher {
  using is_transparent = void;
  size_t operator()(std::string_view id) const noexcept {
    return std::hash<std::string_view>()(id);
  }
};

}  // namespace

// The working state of one kind besides its counters (which live in state_.kinds).
struct Store::KindState {
  // Its slot in state_.kinds, where its counters are.
  size_t index = 0;
  // Rendered and polled; a kind switched off by a reload keeps its state, hidden.
  bool active = true;
  // The shown jobs, by id. The key views the record's own id (records are immutable and the
  // map owns them), so an id is held once.
  std::unordered_map<std::string_view, std::shared_ptr<const JobRecord>, IdHasher, std::equal_to<>>
      jobs;

  // Shows `record` under its id, in place of what was shown; true when the id is new. A record
  // that turns terminal (or finishes again at another time) joins the expiry queue.
  bool Put(std::shared_ptr<const JobRecord> record) {
    auto old = jobs.find(std::string_view(record->job.id));
    const bool known = old != jobs.end();
    if (IsTerminal(record->status) && (!known || !IsTerminal(old->second->status) ||
                                       old->second->finished_at != record->finished_at)) {
      finishing.emplace(record->finished_at, record->job.id);
    }
    if (known) jobs.erase(old);
    std::string_view id = record->job.id;
    jobs.emplace(id, std::move(record));
    changed = true;
    return !known;
  }
  void RememberUntil(uint64_t hash, double forget_at) {
    remembered[hash] = forget_at;
    forgetting.emplace(forget_at, hash);
  }
  void RefuseUntil(uint64_t hash, double forget_at) {
    refused[hash] = forget_at;
    unrefusing.emplace(forget_at, hash);
  }

  // The expiry queues, earliest first, so that a cycle touches only what expires: (finished_at,
  // id) of the terminal jobs shown, (forget_at, id hash) of the remembered and the refused ids.
  // An entry whose job or id has gone, or moved on, since it was queued is dropped when it comes
  // up.
  template <typename T>
  using Queue =
      std::priority_queue<std::pair<double, T>, std::vector<std::pair<double, T>>, std::greater<>>;
  Queue<std::string> finishing;
  Queue<uint64_t> forgetting;
  Queue<uint64_t> unrefusing;
  // The shown jobs ordered by id, as last published; rebuilt only after a change.
  JobList published;
  // The oldest_unfinished of `published`, computed with it.
  std::map<Status, double> oldest_unfinished;
  bool changed = true;
  // Finished jobs that left the output: id hash -> Unix time at which it is forgotten.
  std::unordered_map<uint64_t, double> remembered;
  // Jobs refused because the store was full, counted once each: id hash -> Unix time at which
  // it is forgotten (persisted, so that a restart does not count them again).
  std::unordered_map<uint64_t, double> refused;
  // 404 answers in a row, per id asked for.
  std::map<std::string, int, std::less<>> not_found;
};

const JobRecord* JobList::find(std::string_view id) const {
  auto it = std::lower_bound(entries_->begin(), entries_->end(), id,
                             [](const Entry& e, std::string_view v) { return e->job.id < v; });
  return it != entries_->end() && (*it)->job.id == id ? it->get() : nullptr;
}

const JobRecord& JobList::at(std::string_view id) const {
  const JobRecord* record = find(id);
  if (record == nullptr) throw std::out_of_range("no job " + std::string(id));
  return *record;
}

const KindSnapshot* Snapshot::FindKind(std::string_view name) const {
  for (const auto& kind : kinds) {
    if (kind.name == name) return &kind;
  }
  return nullptr;
}

void Changes::Merge(Changes&& later) {
  if (ops.empty()) {
    ops = std::move(later.ops);
    return;
  }
  ops.insert(ops.end(), std::make_move_iterator(later.ops.begin()),
             std::make_move_iterator(later.ops.end()));
  // The row a change writes: a job, a remembered id or a refused id of a kind. Rows are
  // independent of each other, so only the last change of each matters.
  auto row = [](const Change& change) {
    std::string key;
    switch (change.type) {
      case Change::Type::kUpsert:
      case Change::Type::kRemove:
        key = "j";
        break;
      case Change::Type::kRemember:
      case Change::Type::kForget:
        key = "m";
        break;
      case Change::Type::kRefuse:
      case Change::Type::kUnrefuse:
        key = "r";
        break;
    }
    key += change.kind;
    key += '\0';
    if (key[0] == 'j') {
      key += change.id;
    } else {
      key.append(reinterpret_cast<const char*>(&change.id_hash), sizeof(change.id_hash));
    }
    return key;
  };
  std::unordered_set<std::string> later_rows;
  std::vector<bool> keep(ops.size());
  for (size_t i = ops.size(); i-- > 0;) keep[i] = later_rows.insert(row(ops[i])).second;
  size_t kept = 0;
  for (size_t i = 0; i < ops.size(); ++i) {
    if (!keep[i]) continue;
    if (kept != i) ops[kept] = std::move(ops[i]);
    ++kept;
  }
  ops.resize(kept);
}

namespace {

// Every key of `live` with its value in `durable`, or `zero` of it when `durable` has none.
template <typename Map, typename Zero>
void TakeDurable(Map& live, const Map& durable, Zero zero) {
  for (auto& [key, value] : live) {
    auto it = durable.find(key);
    value = it != durable.end() ? it->second : zero(value);
  }
}

double ZeroCount(double) { return 0; }
Histogram ZeroHistogram(const Histogram& h) { return Histogram(h.upper_bounds()); }

}  // namespace

Snapshot WithDurableCounters(const Snapshot& live, const Snapshot& durable) {
  Snapshot out = live;
  for (auto& kind : out.kinds) {
    const KindSnapshot* from = durable.FindKind(kind.name);
    const KindSnapshot empty;
    if (from == nullptr) from = &empty;
    TakeDurable(kind.completed, from->completed, ZeroCount);
    kind.credits_used = from->credits_used;
    TakeDurable(kind.processing, from->processing, ZeroHistogram);
    TakeDurable(kind.stage, from->stage, ZeroHistogram);
    kind.invalid_items = from->invalid_items;
    TakeDurable(kind.invalid_fields, from->invalid_fields, ZeroCount);
    TakeDurable(kind.dropped, from->dropped, ZeroCount);
    kind.breakdown = from->breakdown;
  }
  out.breakdown_values = durable.breakdown_values;
  TakeDurable(out.api_requests, durable.api_requests, ZeroCount);
  TakeDurable(out.api_request_duration, durable.api_request_duration, ZeroHistogram);
  out.poll_duration = durable.poll_duration;
  for (auto& [name, workspace] : out.workspaces) {
    auto from = durable.workspaces.find(name);
    workspace.poll_duration =
        from != durable.workspaces.end() ? from->second.poll_duration : Histogram(PollBuckets());
  }
  TakeDurable(out.webhook_requests, durable.webhook_requests, ZeroCount);
  TakeDurable(out.webhook_forwards, durable.webhook_forwards, ZeroCount);
  return out;
}

Store::Store(StoreOptions options) : options_(std::move(options)) {
  state_.watching_since = options_.watching_since;
  state_.process_started_at = options_.watching_since;
  state_.breakdown = options_.breakdown;
  last_now_ = options_.watching_since;
  for (const auto& name : options_.kinds) {
    state_.kinds.push_back(EmptyKind(name));
    kinds_.push_back(std::make_unique<KindState>());
    kinds_.back()->index = kinds_.size() - 1;
  }
  for (const auto& name : options_.workspaces) state_.workspaces[name];
  // The series shown from the start count from the start.
  AssignCreated(state_, options_.watching_since);
  current_ = std::make_shared<const Snapshot>(state_);
}

Store::Store(std::vector<std::string> active_kinds, double watching_since)
    : Store(StoreOptions{.kinds = std::move(active_kinds), .watching_since = watching_since}) {}

Store::~Store() = default;

std::shared_ptr<const Snapshot> Store::Current() const {
  std::lock_guard<std::mutex> lock(current_mutex_);
  return current_;
}

void Store::OnPublish(std::function<void(const std::shared_ptr<const Snapshot>&)> listener) {
  std::lock_guard<std::mutex> lock(apply_mutex_);
  listener_ = std::move(listener);
}

Changes Store::TakeChanges() {
  std::lock_guard<std::mutex> lock(apply_mutex_);
  return std::exchange(changes_, {});
}

Changes Store::TakeChanges(std::shared_ptr<const Snapshot>* snapshot) {
  // current_ is replaced only under apply_mutex_ (Publish), so it matches changes_ here.
  std::lock_guard<std::mutex> lock(apply_mutex_);
  *snapshot = Current();
  return std::exchange(changes_, {});
}

void Store::SetPersistence(bool enabled, bool restored) {
  std::lock_guard<std::mutex> lock(apply_mutex_);
  state_.persistence.enabled = enabled;
  state_.persistence.restored = restored;
}

void Store::RecordWrite(bool ok, double at) {
  std::lock_guard<std::mutex> lock(apply_mutex_);
  if (ok) {
    state_.persistence.last_write = at;
  } else {
    state_.persistence.write_errors += 1;
  }
}

bool Store::IsFinished(std::string_view kind_name, std::string_view id) const {
  std::lock_guard<std::mutex> lock(apply_mutex_);
  for (size_t i = 0; i < state_.kinds.size(); ++i) {
    if (state_.kinds[i].name != kind_name) continue;
    const KindState& kind = *kinds_[i];
    auto it = kind.jobs.find(id);
    if (it != kind.jobs.end()) return IsTerminal(it->second->status);
    return kind.remembered.contains(IdHash(id));
  }
  return false;
}

Store::KindState& Store::SlotFor(std::string_view name) {
  for (size_t i = 0; i < state_.kinds.size(); ++i) {
    if (state_.kinds[i].name == name) return *kinds_[i];
  }
  state_.kinds.push_back(EmptyKind(std::string(name)));
  kinds_.push_back(std::make_unique<KindState>());
  kinds_.back()->index = kinds_.size() - 1;
  kinds_.back()->active = false;
  return *kinds_.back();
}

void Store::Restore(RestoredState restored) {
  std::lock_guard<std::mutex> lock(apply_mutex_);
  state_.watching_since = restored.watching_since;
  options_.watching_since = restored.watching_since;
  // The file's created times replace those of the start; a series of a file that did not keep
  // its created time has counted since the file's start.
  state_.created = std::move(restored.counters.created);
  AssignCreated(restored.counters, restored.watching_since);
  state_.api_requests = std::move(restored.counters.api_requests);
  for (const auto& [key, value] : restored.counters.webhook_requests) {
    state_.webhook_requests[key] = value;
  }
  for (const auto& [key, value] : restored.counters.webhook_forwards) {
    state_.webhook_forwards[key] = value;
  }
  state_.api_request_duration = std::move(restored.counters.api_request_duration);
  state_.breakdown_values = std::move(restored.counters.breakdown_values);
  if (restored.counters.poll_duration.upper_bounds() == PollBuckets()) {
    state_.poll_duration = std::move(restored.counters.poll_duration);
  }
  for (auto& [name, from] : restored.counters.workspaces) {
    if (from.poll_duration.upper_bounds() != PollBuckets()) continue;
    auto [it, added] = state_.workspaces.try_emplace(name);
    if (added) it->second.configured = false;
    it->second.poll_duration = std::move(from.poll_duration);
  }
  // Every kind the file holds, switched on or not: a kind that is off keeps its counters hidden.
  for (const KindSnapshot& from : restored.counters.kinds) {
    KindSnapshot& to = state_.kinds[SlotFor(from.name).index];
    for (const auto& [status, value] : from.completed) to.completed[status] = value;
    to.credits_used = from.credits_used;
    for (const auto& [status, histogram] : from.processing) {
      if (histogram.upper_bounds() == ProcessingBuckets()) to.processing[status] = histogram;
    }
    for (const auto& [stage, histogram] : from.stage) {
      if (to.stage.contains(stage) && histogram.upper_bounds() == StageBuckets()) {
        to.stage[stage] = histogram;
      }
    }
    to.invalid_items = from.invalid_items;
    for (const auto& [field, value] : from.invalid_fields) to.invalid_fields[field] = value;
    for (const auto& [reason, value] : from.dropped) to.dropped[reason] = value;
    for (const auto& [key, count] : from.breakdown) to.breakdown[key] = count;
    to.last_success = from.last_success;
  }
  // Unfinished jobs first (each may still be counted: all are kept, whatever the cap), then the
  // finished ones, the most recently created first (then by id, so that which ones stay does not
  // depend on the order of the file): those the cap leaves no room for are remembered.
  std::stable_sort(restored.jobs.begin(), restored.jobs.end(), [](const auto& a, const auto& b) {
    const bool a_done = IsTerminal(a.second.status);
    const bool b_done = IsTerminal(b.second.status);
    if (a_done != b_done) return !a_done;
    if (!a_done) return false;
    const double a_created = a.second.job.created_at.value_or(0);
    const double b_created = b.second.job.created_at.value_or(0);
    if (a_created != b_created) return a_created > b_created;
    return a.second.job.id < b.second.job.id;
  });
  for (auto& [kind_name, record] : restored.jobs) {
    KindState& kind = SlotFor(kind_name);
    if (IsTerminal(record.status) && kind.active && Full()) {
      // Counted, or not, for good: its id stays remembered as long as it would have been.
      const double forget_at =
          record.finished_at + options_.terminal_retention_seconds + options_.forget_after_seconds;
      Record({.type = Change::Type::kRemove, .kind = kind_name, .id = record.job.id});
      RememberHash(kind, IdHash(record.job.id), forget_at);
      continue;
    }
    if (options_.render_job) options_.render_job(kind_name, &record);
    kind.Put(std::make_shared<const JobRecord>(std::move(record)));
  }
  for (const auto& remembered : restored.remembered) {
    SlotFor(remembered.kind).RememberUntil(remembered.id_hash, remembered.forget_at);
  }
  for (const auto& refused : restored.refused) {
    SlotFor(refused.kind).RefuseUntil(refused.id_hash, refused.forget_at);
  }
  // A series the file did not have (a kind switched on at this start) counts from this start.
  AssignCreated(state_, state_.process_started_at);
  Publish(state_.process_started_at);
}

void Store::Apply(const PollCycle& cycle) {
  std::lock_guard<std::mutex> lock(apply_mutex_);
  const double now = cycle.finished_at;
  last_now_ = std::max(last_now_, now);
  state_.generation++;
  if (cycle.workspace.empty()) {
    if (!cycle.partial) {
      state_.polled = true;
      state_.up = cycle.up;
      state_.poll_duration.Observe(cycle.duration_seconds);
    }
    if (cycle.remaining_credits) state_.remaining_credits = cycle.remaining_credits;
  } else {
    // A workspace not configured (any more) is kept hidden.
    auto [slot, added] = state_.workspaces.try_emplace(cycle.workspace);
    if (added) slot->second.configured = false;
    WorkspaceStatus& workspace = slot->second;
    if (!cycle.partial) {
      workspace.polled = true;
      workspace.up = cycle.up;
      workspace.poll_duration.Observe(cycle.duration_seconds);
      UpdateWorkspacesPolled();
    }
    if (cycle.remaining_credits) workspace.remaining_credits = cycle.remaining_credits;
  }
  for (const auto& request : cycle.requests) {
    state_.api_requests[{request.endpoint, request.code}] += 1;
    state_.api_request_duration.try_emplace(request.endpoint, ApiRequestBuckets())
        .first->second.Observe(request.seconds);
  }
  // A hidden kind is left as it is, to come back whole.
  for (const auto& kind : kinds_) {
    if (kind->active) Expire(now, *kind);
  }
  for (const auto& poll : cycle.kinds) {
    if (KindState* kind = Active(poll.kind)) MergeKind(poll, now, cycle.partial, *kind);
  }
  Publish(now);
}

Store::KindState* Store::Active(std::string_view name) const {
  for (size_t i = 0; i < state_.kinds.size(); ++i) {
    if (state_.kinds[i].name == name) return kinds_[i]->active ? kinds_[i].get() : nullptr;
  }
  return nullptr;
}

AddResult Store::AddJob(std::string_view kind_name, std::string_view id) {
  std::lock_guard<std::mutex> lock(apply_mutex_);
  KindState* kind = Active(kind_name);
  if (kind == nullptr) return AddResult::kNoKind;
  if (kind->jobs.contains(id)) return AddResult::kKnown;
  if (kind->remembered.contains(IdHash(id))) return AddResult::kFinished;
  if (Full()) {
    Refuse(*kind, id, last_now_);
    Publish(Now());
    return AddResult::kFull;
  }
  JobRecord record;
  record.job.id = std::string(id);
  record.unread = true;
  Unrefuse(*kind, id);
  Track(*kind, std::move(record));
  Publish(Now());
  return AddResult::kAdded;
}

void Store::RemoveJobs(std::string_view kind_name, const std::vector<std::string>& ids,
                       double now) {
  std::lock_guard<std::mutex> lock(apply_mutex_);
  KindState* kind = Active(kind_name);
  if (kind == nullptr) return;
  KindSnapshot& counters = state_.kinds[kind->index];
  bool changed = false;
  for (const auto& id : ids) {
    counters.deferred.erase(id);
    kind->not_found.erase(id);
    auto it = kind->jobs.find(id);
    if (it == kind->jobs.end()) continue;
    const bool finished = IsTerminal(it->second->status);
    Record({.type = Change::Type::kRemove, .kind = counters.name, .id = id});
    kind->jobs.erase(it);
    kind->changed = true;
    if (finished) Remember(*kind, id, now);
    changed = true;
  }
  if (changed) Publish(now);
}

void Store::Reconfigure(std::vector<std::string> kinds, double terminal_retention_seconds,
                        double forget_after_seconds, size_t max_tracked_jobs,
                        JobRenderer render_job, bool rerender, BreakdownOptions breakdown) {
  std::lock_guard<std::mutex> lock(apply_mutex_);
  options_.breakdown = breakdown;
  state_.breakdown = std::move(breakdown);
  for (const auto& name : kinds) {
    bool found = false;
    for (const auto& existing : state_.kinds) found = found || existing.name == name;
    if (found) continue;
    state_.kinds.push_back(EmptyKind(name));
    kinds_.push_back(std::make_unique<KindState>());
    kinds_.back()->index = kinds_.size() - 1;
  }
  for (size_t i = 0; i < state_.kinds.size(); ++i) {
    kinds_[i]->active = std::find(kinds.begin(), kinds.end(), state_.kinds[i].name) != kinds.end();
  }
  options_.kinds = std::move(kinds);
  options_.terminal_retention_seconds = terminal_retention_seconds;
  options_.forget_after_seconds = forget_after_seconds;
  options_.max_tracked_jobs = max_tracked_jobs;
  options_.render_job = std::move(render_job);
  if (rerender) {
    for (size_t i = 0; i < state_.kinds.size(); ++i) {
      KindState& kind = *kinds_[i];
      std::vector<std::shared_ptr<const JobRecord>> records;
      records.reserve(kind.jobs.size());
      for (const auto& [id, record] : kind.jobs) records.push_back(record);
      for (const auto& record : records) {
        JobRecord copy = *record;
        if (options_.render_job) {
          options_.render_job(state_.kinds[i].name, &copy);
        } else {
          copy.lines.clear();
          copy.section_end.fill(0);
        }
        kind.Put(std::make_shared<const JobRecord>(std::move(copy)));
      }
    }
  }
  Publish(Now());
}

void Store::UpdateWorkspacesPolled() {
  bool polled = true, up = true;
  for (const auto& [name, workspace] : state_.workspaces) {
    if (!workspace.configured) continue;
    polled = polled && workspace.polled;
    up = up && workspace.up;
  }
  state_.polled = state_.polled || polled;
  state_.up = up;
}

void Store::SetWorkspaces(const std::vector<std::string>& workspaces) {
  std::lock_guard<std::mutex> lock(apply_mutex_);
  options_.workspaces = workspaces;
  for (auto& [name, workspace] : state_.workspaces) workspace.configured = false;
  for (const auto& name : workspaces) state_.workspaces[name].configured = true;
  if (!workspaces.empty()) UpdateWorkspacesPolled();
  MarkDirty();
}

void Store::MarkPollAttempted() {
  std::lock_guard<std::mutex> lock(apply_mutex_);
  if (state_.polled) return;
  state_.polled = true;
  Publish(Now());
}

void Store::CountWebhook(std::string_view kind, std::string_view result, double amount) {
  std::lock_guard<std::mutex> lock(apply_mutex_);
  state_.webhook_requests[{std::string(kind), std::string(result)}] += amount;
  MarkDirty();
}

void Store::CountWebhookForward(std::string_view kind, std::string_view result, double amount) {
  std::lock_guard<std::mutex> lock(apply_mutex_);
  state_.webhook_forwards[{std::string(kind), std::string(result)}] += amount;
  MarkDirty();
}

void Store::AddWebhookForwardsWaiting(double delta) {
  std::lock_guard<std::mutex> lock(apply_mutex_);
  state_.webhook_forwards_waiting = state_.webhook_forwards_waiting.value_or(0) + delta;
  MarkDirty();
}

void Store::SetIdsFile(std::string_view kind, double ids, double invalid_lines, bool read_failed) {
  std::lock_guard<std::mutex> lock(apply_mutex_);
  Snapshot::IdsFile& file = state_.ids_files[std::string(kind)];
  if (read_failed) {
    file.read_errors += 1;
  } else {
    file.ids = ids;
    file.invalid_lines = invalid_lines;
  }
  MarkDirty();
}

void Store::RecordReload(bool ok, double at) {
  std::lock_guard<std::mutex> lock(apply_mutex_);
  state_.reload.successful = ok;
  if (ok) state_.reload.last_success = at;
  MarkDirty();
}

void Store::RecordWebConfigReload(bool ok, double at) {
  std::lock_guard<std::mutex> lock(apply_mutex_);
  state_.web_config.watched = true;
  state_.web_config.successful = ok;
  if (ok) state_.web_config.last_success = at;
  MarkDirty();
}

void Store::KeepIdsFiles(const std::set<std::string>& kinds) {
  std::lock_guard<std::mutex> lock(apply_mutex_);
  std::erase_if(state_.ids_files, [&](const auto& entry) { return !kinds.contains(entry.first); });
  MarkDirty();
}

void Store::PublishIfChanged() {
  std::lock_guard<std::mutex> lock(apply_mutex_);
  if (dirty_) Publish(dirty_at_);
}

void Store::AssignCreated(const Snapshot& snapshot, double at) {
  std::shared_ptr<std::map<SeriesKey, double>> grown;
  auto add = [&](SeriesKey key) {
    if (state_.created && state_.created->contains(key)) return;
    if (!grown) {
      grown = state_.created ? std::make_shared<std::map<SeriesKey, double>>(*state_.created)
                             : std::make_shared<std::map<SeriesKey, double>>();
    }
    grown->emplace(std::move(key), at);
  };
  ForEachCountedSeries(
      snapshot, [&](SeriesKey key, double) { add(std::move(key)); },
      [&](SeriesKey key, const Histogram&) { add(std::move(key)); });
  if (grown) state_.created = std::move(grown);
}

void Store::MarkDirty() {
  if (!dirty_) dirty_at_ = Now();
  dirty_ = true;
}

double Store::Now() const { return options_.clock ? options_.clock() : UnixNow(); }

void Store::Publish(double at) {
  dirty_ = false;
  // The kinds are copied one by one below: only the active ones, in render order.
  std::vector<KindSnapshot> all = std::move(state_.kinds);
  auto next = std::make_shared<Snapshot>(state_);
  state_.kinds = std::move(all);
  for (const auto& name : options_.kinds) {
    size_t i = 0;
    while (i < state_.kinds.size() && state_.kinds[i].name != name) ++i;
    if (i == state_.kinds.size()) continue;
    next->kinds.push_back(state_.kinds[i]);
  }
  // A series that appeared since the last publish starts counting now.
  AssignCreated(*next, at);
  next->created = state_.created;
  for (size_t shown = 0; shown < next->kinds.size(); ++shown) {
    size_t i = 0;
    while (state_.kinds[i].name != next->kinds[shown].name) ++i;
    KindState& kind = *kinds_[i];
    if (kind.changed) {
      auto entries = std::make_shared<std::vector<JobList::Entry>>();
      entries->reserve(kind.jobs.size());
      for (const auto& [id, record] : kind.jobs) entries->push_back(record);
      std::sort(entries->begin(), entries->end(),
                [](const auto& a, const auto& b) { return a->job.id < b->job.id; });
      kind.published = JobList(std::move(entries));
      kind.oldest_unfinished = OldestUnfinished(kind.published);
      kind.changed = false;
    }
    next->kinds[shown].jobs = kind.published;
    next->kinds[shown].oldest_unfinished = kind.oldest_unfinished;
    next->kinds[shown].remembered = kind.remembered.size();
  }
  std::shared_ptr<const Snapshot> published = std::move(next);
  {
    std::lock_guard<std::mutex> current_lock(current_mutex_);
    current_ = published;
  }
  if (listener_) listener_(published);
}

void Store::Record(Change change) {
  if (options_.record_changes) changes_.ops.push_back(std::move(change));
}

bool Store::Full() const { return Tracked() >= options_.max_tracked_jobs; }

void Store::MergeKind(const KindPoll& poll, double now, bool partial, KindState& kind) {
  KindSnapshot& counters = state_.kinds[kind.index];
  counters.invalid_items += poll.invalid_items;
  for (const auto& field : poll.invalid_fields) counters.invalid_fields[field] += 1;
  for (const auto& job : poll.jobs) MergeJob(job, now, kind);
  for (const auto& id : poll.not_found) {
    auto shown = kind.jobs.find(id);
    if (shown != kind.jobs.end() && IsTerminal(shown->second->status)) continue;
    if (++kind.not_found[id] < kNotFoundPolls) continue;
    kind.not_found.erase(id);
    if (shown != kind.jobs.end()) {
      Record({.type = Change::Type::kRemove, .kind = counters.name, .id = id});
      kind.jobs.erase(shown);
      kind.changed = true;
    }
    counters.dropped["not_found"] += 1;
    Remember(kind, id, now);
  }
  if (poll.success && !partial) {
    counters.last_success = now;
    if (poll.complete_listing) {
      std::unordered_set<std::string_view> listed;
      listed.reserve(poll.jobs.size());
      for (const auto& job : poll.jobs) listed.insert(job.id);
      // Only unfinished jobs are dropped: a terminal job stays, so it can never be counted twice.
      for (auto it = kind.jobs.begin(); it != kind.jobs.end();) {
        if (!IsTerminal(it->second->status) && !listed.contains(it->first)) {
          Record(
              {.type = Change::Type::kRemove, .kind = counters.name, .id = std::string(it->first)});
          it = kind.jobs.erase(it);
          kind.changed = true;
        } else {
          ++it;
        }
      }
    }
  }
}

// The single place where terminal transitions are counted.
void Store::MergeJob(const creatify::Job& job, double now, KindState& kind) {
  KindSnapshot& counters = state_.kinds[kind.index];
  auto it = kind.jobs.find(job.id);
  const bool known = it != kind.jobs.end();
  // A terminal job does not change again: its values were taken when it was counted.
  if (known && IsTerminal(it->second->status)) return;
  // A job a webhook announced and no poll has read yet was never seen: it follows the rule of a
  // job first seen in a listing.
  const bool seen_before = known && !it->second->unread;
  // A finished job that left the output is never tracked, nor counted, again.
  if (!known && kind.remembered.contains(IdHash(job.id))) return;
  kind.not_found.erase(job.id);

  JobRecord next;
  next.job = static_cast<const creatify::JobFields&>(job);
  next.status = job.status ? *job.status : (known ? it->second->status : Status::kUnknown);
  // created_at never changes: a response that lacks it does not erase it.
  if (!next.job.created_at && known) next.job.created_at = it->second->job.created_at;
  // Queued at the first read, and when it was first seen running: decided once, then carried.
  if (seen_before) {
    next.seen_queued = it->second->seen_queued;
    next.running_seen_at = it->second->running_seen_at;
  } else {
    next.seen_queued = next.status == Status::kPending || next.status == Status::kInQueue;
  }
  if (next.running_seen_at == 0 && (next.status == Status::kRunning || IsTerminal(next.status))) {
    next.running_seen_at = now;
  }

  // Seen running before, or created after we started watching (and recently enough that it
  // cannot have been counted and forgotten): it finished while we watched.
  auto finished_while_watched = [&] {
    const creatify::OptionalNumber created = next.job.created_at;
    return seen_before || (created && *created >= options_.watching_since &&
                           *created >= now - options_.forget_after_seconds);
  };
  if (IsTerminal(next.status) && LacksCountedField(job, next.job) &&
      (finished_while_watched() || !next.job.created_at)) {
    // A terminal transition is counted once and for good: take it from a complete answer, so that
    // its credits and times are right, unless the API keeps sending a field malformed or null.
    // (A job that will not be counted whatever it says is taken at once.)
    int& deferrals = counters.deferred[job.id];
    if (deferrals < kMaxTerminalDeferrals) {
      ++deferrals;
      return;
    }
  }
  counters.deferred.erase(job.id);

  if (IsTerminal(next.status)) {
    const creatify::JobFields& seen = next.job;
    next.finished_at = now;
    if (finished_while_watched()) {
      next.counted = true;
      counters.completed[next.status] += 1;
      counters.credits_used += seen.credits_used.value_or(0);
      CountBreakdown(counters, seen, job.failed_reason, next.status);
      if (seen.created_at && seen.updated_at && *seen.updated_at >= *seen.created_at) {
        counters.processing.at(next.status).Observe(*seen.updated_at - *seen.created_at);
      }
      if (next.seen_queued && seen.created_at && seen.updated_at) {
        counters.stage.at("queued").Observe(std::max(0.0, next.running_seen_at - *seen.created_at));
        counters.stage.at("running").Observe(
            std::max(0.0, *seen.updated_at - next.running_seen_at));
      }
    }
    if (!known && Full()) {
      // Counted (or not) for good; no room to show it.
      Remember(kind, job.id, now);
      return;
    }
  } else if (!known && Full()) {
    Refuse(kind, job.id, now);
    return;
  }
  if (!known) {
    Unrefuse(kind, job.id);
  } else if (next.status == it->second->status && next.job == it->second->job &&
             !it->second->unread && next.running_seen_at == it->second->running_seen_at) {
    return;  // Unchanged: the record, its lines and its row stay as they are.
  }
  Track(kind, std::move(next));
}

void Store::CountBreakdown(KindCounters& counters, const creatify::JobFields& job,
                           std::string_view failed_reason, Status status) {
  const BreakdownOptions& breakdown = state_.breakdown;
  if (breakdown.fields.empty()) return;
  BreakdownKey key;
  key.reserve(breakdown.fields.size());
  for (const auto& field : breakdown.fields) {
    std::string_view value;
    if (field == "failed_reason") {
      value = failed_reason;
    }
    for (const auto& [name, text] : job.info) {
      if (name == field) value = text;
    }
    if (value.empty()) {
      key.emplace_back(field, "");
      continue;
    }
    std::vector<std::string>& named = state_.breakdown_values[field];
    if (std::find(named.begin(), named.end(), value) != named.end()) {
      key.emplace_back(field, value);
    } else if (named.size() < breakdown.max_values) {
      named.emplace_back(value);
      key.emplace_back(field, value);
    } else {
      key.emplace_back(field, kBreakdownOther);
    }
  }
  BreakdownCount& count = counters.breakdown[std::move(key)];
  count.completed[status] += 1;
  count.credits_used += job.credits_used.value_or(0);
}

void Store::Track(KindState& kind, JobRecord record) {
  const std::string& kind_name = state_.kinds[kind.index].name;
  if (options_.render_job) options_.render_job(kind_name, &record);
  auto shared = std::make_shared<const JobRecord>(std::move(record));
  Record(
      {.type = Change::Type::kUpsert, .kind = kind_name, .id = shared->job.id, .record = shared});
  kind.Put(std::move(shared));
}

void Store::Remember(KindState& kind, std::string_view id, double now) {
  RememberHash(kind, IdHash(id), now + options_.forget_after_seconds);
}

void Store::RememberHash(KindState& kind, uint64_t hash, double forget_at) {
  kind.RememberUntil(hash, forget_at);
  Record({.type = Change::Type::kRemember,
          .kind = state_.kinds[kind.index].name,
          .id_hash = hash,
          .forget_at = forget_at});
}

void Store::Refuse(KindState& kind, std::string_view id, double now) {
  const uint64_t hash = IdHash(id);
  if (kind.refused.contains(hash)) return;
  const double forget_at = now + options_.forget_after_seconds;
  kind.RefuseUntil(hash, forget_at);
  state_.kinds[kind.index].dropped["limit"] += 1;
  Record({.type = Change::Type::kRefuse,
          .kind = state_.kinds[kind.index].name,
          .id_hash = hash,
          .forget_at = forget_at});
}

void Store::Unrefuse(KindState& kind, std::string_view id) {
  const uint64_t hash = IdHash(id);
  if (kind.refused.erase(hash) == 0) return;
  Record({.type = Change::Type::kUnrefuse, .kind = state_.kinds[kind.index].name, .id_hash = hash});
}

size_t Store::Tracked() const {
  size_t tracked = 0;
  for (const auto& kind : kinds_) {
    if (kind->active) tracked += kind->jobs.size();
  }
  return tracked;
}

void Store::Expire(double now, KindState& kind) {
  const std::string& kind_name = state_.kinds[kind.index].name;
  // The queue is in order of finished_at: whatever the retention (a reload may change it), the
  // jobs that expire are at its front.
  while (!kind.finishing.empty() &&
         kind.finishing.top().first + options_.terminal_retention_seconds <= now) {
    const auto [finished_at, id] = kind.finishing.top();
    kind.finishing.pop();
    auto it = kind.jobs.find(std::string_view(id));
    if (it == kind.jobs.end() || !IsTerminal(it->second->status) ||
        it->second->finished_at != finished_at) {
      continue;
    }
    Record({.type = Change::Type::kRemove, .kind = kind_name, .id = id});
    Remember(kind, id, now);
    kind.jobs.erase(it);
    kind.changed = true;
  }
  // The remembered and the refused ids end the same way, each with its change.
  auto forget = [&](KindState::Queue<uint64_t>& queue, std::unordered_map<uint64_t, double>& ids,
                    Change::Type type) {
    while (!queue.empty() && queue.top().first <= now) {
      const auto [forget_at, hash] = queue.top();
      queue.pop();
      auto it = ids.find(hash);
      if (it == ids.end() || it->second != forget_at) continue;
      ids.erase(it);
      Record({.type = type, .kind = kind_name, .id_hash = hash});
    }
  };
  forget(kind.forgetting, kind.remembered, Change::Type::kForget);
  forget(kind.unrefusing, kind.refused, Change::Type::kUnrefuse);
}

}  // namespace state
