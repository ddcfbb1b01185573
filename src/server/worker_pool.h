// A small fixed pool of threads for the work the event loop must not wait on: authorizing a
// request (a bcrypt check takes tens of milliseconds) and POST handlers (a reload reads files).
// Thread-safe.
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace server {

class WorkerPool {
 public:
  // Starts up to `threads` threads (fewer when the system refuses more).
  explicit WorkerPool(int threads);
  // Drops the jobs not started and waits for the running ones.
  ~WorkerPool();
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  // Runs `job` on a worker (on the caller's thread when no worker could be started). A job must
  // not throw.
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
