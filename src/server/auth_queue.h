// The slow half of authorizing requests, away from the event loops: a bcrypt check takes tens of
// milliseconds, and clients whose passwords fail must be able to slow only themselves.
// - A few threads (half the cores, at least one, at most four), at a lower CPU priority than the
//   event loops: a flood of failing checks costs at most those cores, and the loops come first.
// - At most `max_waiting` checks wait in all, and `max_waiting_per_client` per client (its
//   address); past either, Submit refuses the check at once and the request is answered without
//   one.
// - Clients take turns: each turn runs the oldest check of the next client with one waiting, so
//   a client with many connections waits behind itself, not behind everyone.
// - A check whose request stopped waiting (its connection closed, or gave up at its deadline) is
//   dropped unrun.
// Thread-safe.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace server {

class AuthQueue {
 public:
  struct Limits {
    size_t max_waiting = 256;
    size_t max_waiting_per_client = 4;
    // 0: half the cores, at least one, at most four.
    int threads = 0;
  };

  // Starts the threads; throws std::system_error when one cannot start (a start-up error: a
  // check must never run on an event loop instead).
  explicit AuthQueue(Limits limits);
  // Drops the checks waiting and joins the threads after their running checks.
  ~AuthQueue();
  AuthQueue(const AuthQueue&) = delete;
  AuthQueue& operator=(const AuthQueue&) = delete;

  enum class Admission { kQueued, kClientBusy, kFull };

  // Queues `check` (which must not throw) for `client`. `abandoned` is set by the requester when
  // it no longer wants the answer: the check is then dropped if it has not started. kQueued, or
  // why it was refused (nothing runs then).
  Admission Submit(std::string_view client, std::shared_ptr<const std::atomic<bool>> abandoned,
                   std::function<void()> check);

  // Checks waiting (not running), abandoned ones included until a thread drops them.
  size_t waiting() const;
  int threads() const { return static_cast<int>(threads_.size()); }

 private:
  struct Job {
    std::shared_ptr<const std::atomic<bool>> abandoned;
    std::function<void()> check;
  };

  void Run();
  // The next job to run, in turn; false when none waits. mutex_ held.
  bool TakeNext(Job* job);

  const Limits limits_;
  mutable std::mutex mutex_;
  std::condition_variable ready_;
  // Guarded by mutex_: per client, its checks in order; the clients with checks waiting, in turn.
  std::map<std::string, std::deque<Job>, std::less<>> waiting_;
  std::deque<std::string> turns_;
  size_t total_waiting_ = 0;
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace server
