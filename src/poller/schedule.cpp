#include "poller/schedule.h"

#include <algorithm>
#include <cmath>
#include <random>

#include "log/log.h"

namespace poller {

Clock::TimePoint SteadyClock::Now() const { return std::chrono::steady_clock::now(); }

bool SteadyClock::WaitUntil(std::unique_lock<std::mutex>& lock, std::condition_variable& cv,
                            TimePoint deadline, const std::function<bool()>& stop) {
  return cv.wait_until(lock, deadline, stop);
}

Clock& DefaultClock() {
  static SteadyClock clock;
  return clock;
}

double BackoffSeconds(double poll_interval_seconds, int attempt, double random01) {
  const double exponential = poll_interval_seconds * std::pow(2.0, std::clamp(attempt, 1, 60));
  const double capped = std::min(exponential, std::max(kMaxBackoffSeconds, poll_interval_seconds));
  return std::max(poll_interval_seconds, capped * (0.5 + 0.5 * std::clamp(random01, 0.0, 1.0)));
}

Schedule::Schedule(Clock& clock, std::function<double()> random01)
    : clock_(clock), random01_(std::move(random01)) {
  if (!random01_) {
    random01_ = [random = std::minstd_rand(std::random_device{}())]() mutable {
      return std::uniform_real_distribution<double>(0, 1)(random);
    };
  }
}

Clock::TimePoint Schedule::NextCycleAt(Clock::Duration interval) const {
  std::lock_guard<std::mutex> lock(mutex_);
  if (!last_start_) return std::max(clock_.Now(), not_before_);
  return std::max(*last_start_ + interval, not_before_);
}

Clock::TimePoint Schedule::NotBefore() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return not_before_;
}

bool Schedule::MayAsk() const { return clock_.Now() >= NotBefore(); }

void Schedule::CycleStarted() {
  const auto now = clock_.Now();
  std::lock_guard<std::mutex> lock(mutex_);
  last_start_ = now;
}

void Schedule::CycleFinished(Clock::Duration interval, bool rate_limited,
                             std::optional<double> retry_after_seconds, bool whole) {
  const auto now = clock_.Now();
  std::lock_guard<std::mutex> lock(mutex_);
  std::optional<double> wait_seconds = retry_after_seconds;
  if (rate_limited && !wait_seconds) {
    wait_seconds = BackoffSeconds(std::chrono::duration<double>(interval).count(),
                                  ++backoff_attempts_, random01_());
  } else if (!rate_limited && whole) {
    backoff_attempts_ = 0;
  }
  if (!wait_seconds) return;
  // From the end of the cycle: the 429 came at most then.
  not_before_ = now + std::chrono::duration_cast<Clock::Duration>(
                          std::chrono::duration<double>(*wait_seconds));
  logging::Debug("Creatify API is rate limiting; waiting before the next poll",
                 {{"wait_seconds", std::to_string(*wait_seconds)},
                  {"retry_after", retry_after_seconds ? "1" : "0"}});
}

int Schedule::backoff_attempts() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return backoff_attempts_;
}

}  // namespace poller
