#include "poller/fork_join_pool.h"

#include <sys/resource.h>
#include <unistd.h>

namespace poller {

ForkJoinPool::ForkJoinPool(int threads) {
  try {
    for (int i = 0; i < threads; ++i) threads_.emplace_back([this] { Loop(); });
  } catch (...) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stopping_ = true;
    }
    work_.notify_all();
    for (auto& thread : threads_) thread.join();
    throw;
  }
}

ForkJoinPool::~ForkJoinPool() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  work_.notify_all();
  for (auto& thread : threads_) thread.join();
}

void ForkJoinPool::Run(int n, const std::function<void(int)>& task) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    task_ = &task;
    wanted_ = n;
    next_ = 1;
  }
  work_.notify_all();
  if (n > 0) task(0);
  std::unique_lock<std::mutex> lock(mutex_);
  // A worker that has not picked its share yet: the caller runs it (no pool, or a slow one).
  while (next_ < wanted_) {
    int w = next_++;
    ++running_;
    lock.unlock();
    task(w);
    lock.lock();
    --running_;
  }
  done_.wait(lock, [this] { return running_ == 0; });
  task_ = nullptr;
  wanted_ = 0;
}

void LowerThreadPriority() {
  // On Linux, nice is per thread: PRIO_PROCESS with a thread id sets that thread's alone.
  setpriority(PRIO_PROCESS, static_cast<id_t>(gettid()), 10);
}

void ForkJoinPool::Loop() {
  LowerThreadPriority();
  std::unique_lock<std::mutex> lock(mutex_);
  for (;;) {
    work_.wait(lock, [this] { return stopping_ || (task_ != nullptr && next_ < wanted_); });
    if (stopping_) return;
    int w = next_++;
    ++running_;
    const auto* task = task_;
    lock.unlock();
    (*task)(w);
    lock.lock();
    if (--running_ == 0 && next_ >= wanted_) done_.notify_all();
  }
}

}  // namespace poller
