#include "state/store.h"

#include <set>

namespace state {

using creatify::IsTerminal;
using creatify::Status;

namespace {

// The fields a terminal transition counts: a malformed one would make the counters wrong.
bool HasMalformedCountedField(const creatify::Job& job) {
  for (const auto& field : job.invalid_fields) {
    if (field == "credits_used" || field == "created_at" || field == "updated_at") return true;
  }
  return false;
}

}  // namespace

const KindSnapshot* Snapshot::FindKind(std::string_view name) const {
  for (const auto& kind : kinds) {
    if (kind.name == name) return &kind;
  }
  return nullptr;
}

Store::Store(std::vector<std::string> active_kinds, double watching_since)
    : watching_since_(watching_since) {
  for (auto& name : active_kinds) {
    KindSnapshot kind;
    kind.name = std::move(name);
    for (Status status : creatify::kTerminalStatuses) {
      kind.completed[status] = 0;
      kind.processing.emplace(status, Histogram(ProcessingBuckets()));
    }
    state_.kinds.push_back(std::move(kind));
  }
  current_ = std::make_shared<const Snapshot>(state_);
}

std::shared_ptr<const Snapshot> Store::Current() const {
  std::lock_guard<std::mutex> lock(current_mutex_);
  return current_;
}

void Store::Apply(const PollCycle& cycle) {
  std::lock_guard<std::mutex> lock(apply_mutex_);
  state_.generation++;
  state_.polled = true;
  state_.up = cycle.up;
  if (cycle.remaining_credits) state_.remaining_credits = cycle.remaining_credits;
  for (const auto& request : cycle.requests) {
    state_.api_requests[{request.endpoint, request.code}] += 1;
    state_.api_request_duration.try_emplace(request.endpoint, ApiRequestBuckets())
        .first->second.Observe(request.seconds);
  }
  state_.poll_duration.Observe(cycle.duration_seconds);
  for (const auto& poll : cycle.kinds) {
    for (auto& kind : state_.kinds) {
      if (kind.name == poll.kind) MergeKind(poll, cycle.finished_at, kind);
    }
  }
  auto next = std::make_shared<const Snapshot>(state_);
  std::lock_guard<std::mutex> current_lock(current_mutex_);
  current_ = std::move(next);
}

void Store::MergeKind(const KindPoll& poll, double finished_at, KindSnapshot& kind) {
  kind.invalid_items += poll.invalid_items;
  for (const auto& field : poll.invalid_fields) kind.invalid_fields[field] += 1;
  for (const auto& job : poll.jobs) MergeJob(job, kind);
  if (poll.success) {
    kind.last_success = finished_at;
    if (poll.complete_listing) {
      std::set<std::string_view> listed;
      for (const auto& job : poll.jobs) listed.insert(job.id);
      // Only unfinished jobs are dropped: a terminal job stays, so it can never be counted twice.
      std::erase_if(kind.jobs, [&](const auto& entry) {
        return !IsTerminal(entry.second.status) && !listed.contains(entry.first);
      });
    }
  }
}

// The single place where terminal transitions are counted.
void Store::MergeJob(const creatify::Job& job, KindSnapshot& kind) {
  auto it = kind.jobs.find(job.id);
  const bool known = it != kind.jobs.end();
  // A terminal job does not change again: its values were taken when it was counted.
  if (known && IsTerminal(it->second.status)) return;

  TrackedJob next;
  next.job = job;
  next.status = job.status ? *job.status : (known ? it->second.status : Status::kUnknown);
  // created_at never changes: a response that lacks it does not erase it.
  if (!next.job.created_at && known) next.job.created_at = it->second.job.created_at;

  if (IsTerminal(next.status) && HasMalformedCountedField(job)) {
    // A terminal transition is counted once and for good: take it from a clean answer, so that
    // its credits and times are right, unless the API keeps sending the field malformed.
    int& deferrals = kind.deferred[job.id];
    if (deferrals < kMaxTerminalDeferrals) {
      ++deferrals;
      return;
    }
  }
  kind.deferred.erase(job.id);

  if (IsTerminal(next.status)) {
    // Seen running before, or created after we started watching: it finished while we watched.
    const creatify::Job& seen = next.job;
    const bool finished_while_watched =
        known || (seen.created_at && *seen.created_at >= watching_since_);
    if (finished_while_watched) {
      kind.completed[next.status] += 1;
      kind.credits_used += seen.credits_used.value_or(0);
      if (seen.created_at && seen.updated_at && *seen.updated_at >= *seen.created_at) {
        kind.processing.at(next.status).Observe(*seen.updated_at - *seen.created_at);
      }
    }
  }
  kind.jobs.insert_or_assign(job.id, std::move(next));
}

}  // namespace state
