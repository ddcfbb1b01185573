// Makes overlapping calls of one piece of work (a reload) one run: a call made while no run is
// going (nor about to start) starts one; calls made while one runs share the result of the next
// run, which starts once the running one ends (it sees every change made before they called,
// which the running one may have read too early). N overlapping calls make at most two runs.
//
// Thread-safety: Run may be called from any number of threads at once.
#pragma once

#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>

namespace app {

class Coalescer {
 public:
  // The work the callers share; it returns its result ("" or an error, for a reload). It must not
  // throw.
  explicit Coalescer(std::function<std::string()> work);
  Coalescer(const Coalescer&) = delete;
  Coalescer& operator=(const Coalescer&) = delete;

  // Blocks until a run of the work that started after this call ends, and returns its result.
  std::string Run();

  // How many runs started, and how many callers wait for the next one (tests).
  int runs() const;
  int waiting() const;

 private:
  struct Round {
    bool done = false;
    std::string result;
  };

  // Runs `round` on this thread; `lock` is held on entry and on return.
  void Perform(std::unique_lock<std::mutex>& lock, const std::shared_ptr<Round>& round);

  const std::function<std::string()> work_;
  mutable std::mutex mutex_;
  std::condition_variable changed_;
  // The round running now, if any (guarded by mutex_).
  std::shared_ptr<Round> running_;
  // The round the callers that came while `running_` ran wait for (guarded by mutex_).
  std::shared_ptr<Round> next_;
  int runs_ = 0;     // guarded by mutex_
  int waiting_ = 0;  // guarded by mutex_
};

}  // namespace app
