// Jobs to read now rather than at the next poll: the webhook receiver queues the jobs Creatify
// announced, and the poller's hint reader takes them. Outlives a poller (a reload replaces the
// poller, not the queue). Thread-safe.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace poller {

class Hints {
 public:
  using Job = std::pair<std::string, std::string>;  // (kind, id)

  // Queues a job; a job already queued is queued once.
  void Add(std::string kind, std::string id);

  // Wakes the reader without a job (a self-metric changed and is worth publishing).
  void Nudge();

  // Returns the queued jobs (at most `max`, the oldest first) once there is one, or a nudge, or
  // `deadline` passed, or `stop()` is true (checked whenever the queue is woken). *nudged tells
  // whether a nudge came.
  // With `workspace`, only the jobs of that workspace (their kinds scoped to it:
  // creatify::ScopedKind) are waited for and taken; "" means the jobs of unscoped kinds (an
  // exporter without workspaces).
  std::vector<Job> Wait(std::chrono::steady_clock::time_point deadline,
                        const std::function<bool()>& stop, size_t max, bool* nudged,
                        std::string_view workspace = {});

  // Wakes a Wait so that it checks its stop condition.
  void Interrupt();

  size_t size() const;

 private:
  mutable std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<Job> queue_;
  std::set<Job> queued_;
  bool nudged_ = false;
};

}  // namespace poller
