#include "app/coalescer.h"

#include <utility>

namespace app {

Coalescer::Coalescer(std::function<std::string()> work) : work_(std::move(work)) {}

std::string Coalescer::Run(Clock::time_point asked) {
  std::unique_lock<std::mutex> lock(mutex_);
  // A round that started after the caller asked read every change made before: it answers.
  if (running_ && running_->started >= asked) {
    const std::shared_ptr<Round> round = running_;
    ++waiting_;
    changed_.wait(lock, [&] { return round->done; });
    --waiting_;
    return round->result;
  }
  if (last_ && last_->started >= asked) return last_->result;
  if (!running_ && !next_) {
    auto round = std::make_shared<Round>();
    Perform(lock, round);
    return round->result;
  }
  // One runs: it may have read the files before the caller changed them, so the caller waits for
  // the next round, which every caller that comes meanwhile shares (and joins while it has not
  // started yet).
  if (!next_) next_ = std::make_shared<Round>();
  const std::shared_ptr<Round> round = next_;
  // The first waiter to see the running round end starts this one.
  ++waiting_;
  changed_.wait(lock, [&] { return round->done || (!running_ && next_ == round); });
  --waiting_;
  if (!round->done) {
    next_.reset();
    Perform(lock, round);
  }
  return round->result;
}

void Coalescer::Perform(std::unique_lock<std::mutex>& lock, const std::shared_ptr<Round>& round) {
  running_ = round;
  round->started = Clock::now();
  ++runs_;
  lock.unlock();
  std::string result = work_();
  lock.lock();
  round->result = std::move(result);
  round->done = true;
  running_.reset();
  last_ = round;
  changed_.notify_all();
}

int Coalescer::waiting() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return waiting_;
}

int Coalescer::runs() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return runs_;
}

}  // namespace app
