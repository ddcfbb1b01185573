// When the Creatify API may be asked: the start of the last poll cycle, the wait a 429's
// Retry-After named, and the backoff after 429s without one. It outlives the pollers (app::Context
// owns it; a reload replaces the poller, never the schedule), so that a reload changes what is
// watched, never when the API is asked. The time comes from an injected Clock.
//
// Thread-safety: Schedule is thread-safe (the poll loop and the hint reader use it at once).
// SteadyClock is thread-safe; a Clock implementation must be too.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <optional>

namespace poller {

// The time the poll loop waits by. A seam for tests: a fake clock decides when a waiting loop
// wakes, so that a test can tell what it waits for without waiting itself.
class Clock {
 public:
  using TimePoint = std::chrono::steady_clock::time_point;
  using Duration = std::chrono::steady_clock::duration;
  virtual ~Clock() = default;
  virtual TimePoint Now() const = 0;
  // Waits on `cv` (`lock` held on entry and on return) until Now() >= deadline, or `stop()` holds
  // when `cv` is notified. Returns stop().
  virtual bool WaitUntil(std::unique_lock<std::mutex>& lock, std::condition_variable& cv,
                         TimePoint deadline, const std::function<bool()>& stop) = 0;
};

// std::chrono::steady_clock.
class SteadyClock final : public Clock {
 public:
  TimePoint Now() const override;
  bool WaitUntil(std::unique_lock<std::mutex>& lock, std::condition_variable& cv,
                 TimePoint deadline, const std::function<bool()>& stop) override;
};

// The process's SteadyClock.
Clock& DefaultClock();

// The wait before the next cycle after the `attempt`-th cycle in a row (1, 2, ...) that a 429
// without Retry-After ended: exponential from the poll interval (interval * 2^attempt, at most
// kMaxBackoffSeconds, never less than the interval), times a jitter factor from `random01` in
// [0, 1) mapped to [0.5, 1) so that replicas do not return in step. Pure.
double BackoffSeconds(double poll_interval_seconds, int attempt, double random01);

// The longest wait after a 429 without Retry-After, however many came in a row.
inline constexpr double kMaxBackoffSeconds = 300;

class Schedule {
 public:
  // `random01` draws the backoff's jitter in [0, 1); by default from a generator seeded at random.
  explicit Schedule(Clock& clock = DefaultClock(), std::function<double()> random01 = nullptr);

  Clock& clock() const { return clock_; }

  // When the next cycle may start, for a poller asking every `interval`: now when no cycle ran
  // yet; otherwise the last cycle's start plus `interval`, or the end of a 429's wait if later.
  Clock::TimePoint NextCycleAt(Clock::Duration interval) const;

  // No request before this (a 429's Retry-After, or the backoff); a time in the past when the
  // API may be asked.
  Clock::TimePoint NotBefore() const;
  // Now() >= NotBefore(): the hint reader asks the API only then.
  bool MayAsk() const;

  // A cycle starts now.
  void CycleStarted();
  // The cycle that started last ended now. `rate_limited`: a 429 ended it; `retry_after_seconds`:
  // the wait it named (already capped). `whole`: it was not cut short by a stop; a cut-short
  // cycle without a 429 leaves the backoff as it was (it says nothing of the API).
  void CycleFinished(Clock::Duration interval, bool rate_limited,
                     std::optional<double> retry_after_seconds, bool whole = true);

  // The cycles in a row a 429 without Retry-After ended (tests, logs).
  int backoff_attempts() const;

 private:
  Clock& clock_;
  std::function<double()> random01_;

  mutable std::mutex mutex_;
  std::optional<Clock::TimePoint> last_start_;  // guarded by mutex_
  Clock::TimePoint not_before_{};               // guarded by mutex_
  int backoff_attempts_ = 0;                    // guarded by mutex_
};

}  // namespace poller
