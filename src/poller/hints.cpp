#include "poller/hints.h"

#include <algorithm>

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
                                    const std::function<bool()>& stop, size_t max, bool* nudged) {
  std::unique_lock<std::mutex> lock(mutex_);
  changed_.wait_until(lock, deadline, [&] { return stop() || !queue_.empty() || nudged_; });
  *nudged = std::exchange(nudged_, false);
  const size_t n = std::min(max, queue_.size());
  std::vector<Job> taken(std::make_move_iterator(queue_.begin()),
                         std::make_move_iterator(queue_.begin() + static_cast<long>(n)));
  queue_.erase(queue_.begin(), queue_.begin() + static_cast<long>(n));
  for (const auto& job : taken) queued_.erase(job);
  return taken;
}

size_t Hints::size() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return queue_.size();
}

}  // namespace poller
