// The threads that run POST handlers, which may block (a reload reads files, a webhook call is
// stored), so that the event loops never wait on them. Jobs run in the order submitted. Nothing
// runs on the caller's thread: the pool refuses to exist without its threads. Thread-safe.
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace server {

class HandlerPool {
 public:
  // Starts up to `threads` threads (fewer when the system refuses more); throws std::system_error
  // when none can start (a start-up error).
  explicit HandlerPool(int threads);
  // Drops the jobs not started and waits for the running ones.
  ~HandlerPool();
  HandlerPool(const HandlerPool&) = delete;
  HandlerPool& operator=(const HandlerPool&) = delete;

  // Runs `job` on one of the threads. A job must not throw.
  void Submit(std::function<void()> job);

 private:
  void Run();

  std::mutex mutex_;
  std::condition_variable ready_;
  std::deque<std::function<void()>> jobs_;  // guarded by mutex_
  bool stopping_ = false;                   // guarded by mutex_
  std::vector<std::thread> threads_;
};

}  // namespace server
