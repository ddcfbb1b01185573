// A poller::Clock whose time moves only when a test says, and which tells the test when the poll
// loop sleeps and until when: a test sees what the loop waits for without waiting itself.
// Thread-safe. Advance must not run while a poller waiting on it is being destroyed (one test
// thread does both).
#pragma once

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <vector>

#include "poller/schedule.h"

namespace testsupport {

class FakeClock final : public poller::Clock {
 public:
  TimePoint Now() const override {
    std::lock_guard<std::mutex> lock(mutex_);
    return now_;
  }

  bool WaitUntil(std::unique_lock<std::mutex>& lock, std::condition_variable& cv,
                 TimePoint deadline, const std::function<bool()>& stop) override {
    for (;;) {
      if (stop()) return true;
      const Waiter waiter{&cv, lock.mutex()};
      {
        std::lock_guard<std::mutex> own(mutex_);
        if (now_ >= deadline) return false;
        waiters_.push_back(waiter);
        ++sleeps_;
        deadline_ = deadline;
        slept_.notify_all();
      }
      // Advance notifies under `lock`'s mutex, which the waiter holds until it waits: no wake-up
      // is lost.
      cv.wait(lock);
      std::lock_guard<std::mutex> own(mutex_);
      waiters_.erase(std::find(waiters_.begin(), waiters_.end(), waiter));
    }
  }

  void Advance(Duration by) {
    std::vector<Waiter> waiters;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      now_ += by;
      waiters = waiters_;
    }
    for (const auto& waiter : waiters) {
      std::lock_guard<std::mutex> lock(*waiter.mutex);
      waiter.cv->notify_all();
    }
  }

  // How many times a loop went to sleep so far. Read it before the step that makes the loop
  // sleep (Start, Advance), and await one more.
  int sleeps() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return sleeps_;
  }

  // Waits (at most 10 s of real time) until a loop sleeps for the `n`-th time or later and is
  // still asleep; returns the time it sleeps until, or nothing after 10 s.
  std::optional<TimePoint> AwaitSleep(int n) {
    std::unique_lock<std::mutex> lock(mutex_);
    if (!slept_.wait_for(lock, std::chrono::seconds(10),
                         [&] { return sleeps_ >= n && !waiters_.empty(); })) {
      return std::nullopt;
    }
    return deadline_;
  }

 private:
  struct Waiter {
    std::condition_variable* cv;
    std::mutex* mutex;
    bool operator==(const Waiter&) const = default;
  };

  mutable std::mutex mutex_;
  std::condition_variable slept_;
  // Not the epoch: a time point far from zero, as a steady clock's would be.
  TimePoint now_ = TimePoint(std::chrono::hours(1000));
  std::vector<Waiter> waiters_;
  int sleeps_ = 0;
  TimePoint deadline_{};
};

}  // namespace testsupport
