// A fork-join pool: a fixed set of threads, started once, that run the requests of each poll cycle
// together, Run returning when all are done (a barrier, not a queue): a cycle starts no thread.
// Its threads keep their own API connections alive between cycles.
//
// Thread-safety: Run is called from one thread at a time (the poller's); the destructor joins.
#pragma once

#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace poller {

// Lowers the calling thread's CPU priority (nice 10): polling is background work, and on a busy
// machine a scrape should get the CPU first. Best effort: a failure changes nothing else.
void LowerThreadPriority();

class ForkJoinPool {
 public:
  // Starts `threads` threads; throws std::system_error when one cannot be started (a start-up
  // error, never a run-time one).
  explicit ForkJoinPool(int threads);
  ~ForkJoinPool();
  ForkJoinPool(const ForkJoinPool&) = delete;
  ForkJoinPool& operator=(const ForkJoinPool&) = delete;

  // Runs task(w) for every w in [0, n): task(0) on the calling thread, the others on the pool's
  // threads (at most size() + 1 at once). Returns when every call has returned.
  void Run(int n, const std::function<void(int)>& task);

  int size() const { return static_cast<int>(threads_.size()); }

 private:
  void Loop();

  std::mutex mutex_;
  std::condition_variable work_;
  std::condition_variable done_;
  // Guarded by mutex_.
  const std::function<void(int)>* task_ = nullptr;
  int wanted_ = 0;
  int next_ = 0;
  int running_ = 0;
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace poller
