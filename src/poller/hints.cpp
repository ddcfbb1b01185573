#include "poller/hints.h"

#include <algorithm>

#include "creatify/kind.h"

namespace poller {

void Hints::Add(std::string kind, std::string id) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    Job job{std::move(kind), std::move(id)};
    if (!queued_.insert(job).second) return;
    queue_.push_back(std::move(job));
  }
  changed_.notify_all();
}

void Hints::Nudge() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    nudged_ = true;
  }
  changed_.notify_all();
}

void Hints::Interrupt() {
  // Taking the lock orders the waiter's stop check before or after this notification.
  { std::lock_guard<std::mutex> lock(mutex_); }
  changed_.notify_all();
}

std::vector<Hints::Job> Hints::Wait(std::chrono::steady_clock::time_point deadline,
                                    const std::function<bool()>& stop, size_t max, bool* nudged,
                                    std::string_view workspace) {
  auto mine = [workspace](const Job& job) {
    return creatify::SplitScopedKind(job.first).workspace == workspace;
  };
  std::unique_lock<std::mutex> lock(mutex_);
  changed_.wait_until(lock, deadline, [&] {
    return stop() || nudged_ || std::any_of(queue_.begin(), queue_.end(), mine);
  });
  *nudged = std::exchange(nudged_, false);
  std::vector<Job> taken;
  auto kept = queue_.begin();
  for (auto it = queue_.begin(); it != queue_.end(); ++it) {
    if (taken.size() < max && mine(*it)) {
      queued_.erase(*it);
      taken.push_back(std::move(*it));
    } else {
      if (kept != it) *kept = std::move(*it);
      ++kept;
    }
  }
  queue_.erase(kept, queue_.end());
  return taken;
}

size_t Hints::size() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return queue_.size();
}

}  // namespace poller
