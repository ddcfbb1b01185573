// Makes overlapping calls of one piece of work (a reload) one run. A call is answered by the first
// run that started after it was asked: one running or finished that did (the caller was asked
// before it started, and waited its turn to get here) is shared; otherwise a call made while no
// run is going (nor about to start) starts one, and calls made while one runs share the result
// of the next run, which starts once the running one ends (it sees every change made before they
// were asked, which the running one may have read too early). N overlapping calls make at most
// two runs, and one when they were all asked before the first started.
//
// Thread-safety: Run may be called from any number of threads at once.
#pragma once

#include <chrono>
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

  using Clock = std::chrono::steady_clock;

  // Blocks until a run of the work that started after `asked` ends (one that already ended
  // included), and returns its result.
  std::string Run(Clock::time_point asked);
  std::string Run() { return Run(Clock::now()); }

  // How many runs started, and how many callers wait for the next one (tests).
  int runs() const;
  int waiting() const;

 private:
  struct Round {
    Clock::time_point started{};
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
  // The last round that ended (guarded by mutex_).
  std::shared_ptr<Round> last_;
  int runs_ = 0;     // guarded by mutex_
  int waiting_ = 0;  // guarded by mutex_
};

}  // namespace app
