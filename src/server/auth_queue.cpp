#include "server/auth_queue.h"

#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <system_error>

namespace server {
namespace {

int ThreadsFor(int asked) {
  if (asked > 0) return asked;
  const int cores = static_cast<int>(std::thread::hardware_concurrency());
  return std::clamp(cores / 2, 1, 4);
}

}  // namespace

AuthQueue::AuthQueue(Limits limits) : limits_(limits) {
  const int threads = ThreadsFor(limits.threads);
  try {
    for (int i = 0; i < threads; ++i) threads_.emplace_back([this] { Run(); });
  } catch (const std::system_error&) {
    // The threads started so far serve; none at all is an error for the caller.
    if (threads_.empty()) throw;
  }
}

AuthQueue::~AuthQueue() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
    waiting_.clear();
    turns_.clear();
    total_waiting_ = 0;
  }
  ready_.notify_all();
  for (auto& thread : threads_) thread.join();
}

AuthQueue::Admission AuthQueue::Submit(std::string_view client,
                                       std::shared_ptr<const std::atomic<bool>> abandoned,
                                       std::function<void()> check) {
  {
    std::lock_guard lock(mutex_);
    if (stopping_) return Admission::kFull;
    auto it = waiting_.find(client);
    if (it != waiting_.end()) {
      // Checks given up since are no reason to refuse this one.
      const size_t before = it->second.size();
      std::erase_if(it->second, [](const Job& job) { return job.abandoned->load(); });
      total_waiting_ -= before - it->second.size();
      if (it->second.size() >= limits_.max_waiting_per_client) return Admission::kClientBusy;
    }
    if (total_waiting_ >= limits_.max_waiting) return Admission::kFull;
    if (it == waiting_.end()) it = waiting_.emplace(std::string(client), std::deque<Job>()).first;
    // A client enters the turns when it has a check waiting and leaves them when it has none.
    if (it->second.empty()) turns_.push_back(it->first);
    it->second.push_back(Job{std::move(abandoned), std::move(check)});
    ++total_waiting_;
  }
  ready_.notify_one();
  return Admission::kQueued;
}

size_t AuthQueue::waiting() const {
  std::lock_guard lock(mutex_);
  return total_waiting_;
}

bool AuthQueue::TakeNext(Job* job) {
  while (!turns_.empty()) {
    std::string client = std::move(turns_.front());
    turns_.pop_front();
    auto it = waiting_.find(client);
    if (it == waiting_.end() || it->second.empty()) continue;
    Job next = std::move(it->second.front());
    it->second.pop_front();
    --total_waiting_;
    if (it->second.empty()) {
      waiting_.erase(it);
    } else {
      turns_.push_back(std::move(client));
    }
    if (next.abandoned->load()) continue;
    *job = std::move(next);
    return true;
  }
  return false;
}

void AuthQueue::Run() {
  // On Linux, nice is per thread: the event loops keep their priority, so that a flood of failing
  // checks slows the checks, not the answers.
  setpriority(PRIO_PROCESS, static_cast<id_t>(gettid()), 10);
  std::unique_lock lock(mutex_);
  for (;;) {
    Job job;
    ready_.wait(lock, [&] { return stopping_ || TakeNext(&job); });
    if (stopping_) return;
    lock.unlock();
    job.check();
    job = Job();
    lock.lock();
  }
}

}  // namespace server
