// Hands webhook calls for jobs that another replica owns (--total-shards) to that replica, in the
// background, retrying while it is unreachable: a call that reached the wrong replica is not lost
// while its owner restarts. Calls go to --shard.peer-url with {shard} replaced, at
// /webhook/{kind}/{token}/forwarded, which the owner takes as its own without forwarding again.
//
// Thread-safe; the destructor stops the background thread, dropping what is still queued.
#pragma once

#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

namespace webhook {

// The most calls waiting to be handed over; more are refused (and counted) until some went.
inline constexpr size_t kMaxForwardQueue = 10000;
// A call is tried for this long before it is given up (logged and counted).
inline constexpr std::chrono::minutes kForwardPatience{10};

class Forwarder {
 public:
  // Called from the background thread for a call given up, with its kind.
  using OnGiveUp = std::function<void(const std::string& kind)>;

  Forwarder(std::string url_template, std::string user_agent, OnGiveUp on_give_up);
  ~Forwarder();
  Forwarder(const Forwarder&) = delete;
  Forwarder& operator=(const Forwarder&) = delete;

  // Queues a call for replica `shard`; false when the queue is full.
  bool Forward(int shard, const std::string& kind, const std::string& token, std::string body);

  // The URL of replica `shard`'s receiver for `kind` (for tests and logs; the token is not in it).
  std::string PeerUrl(int shard) const;

 private:
  struct Call {
    int shard = 0;
    std::string kind;
    std::string path;
    std::string body;
    std::chrono::steady_clock::time_point first_try;
    std::chrono::steady_clock::time_point next_try;
    int attempts = 0;
  };

  void Loop();
  // True when the owner took the call (2xx), or refused it for good (4xx).
  bool Send(const Call& call, std::string* error) const;

  const std::string url_template_;
  const std::string user_agent_;
  const OnGiveUp on_give_up_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<Call> queue_;  // guarded by mutex_
  bool stopping_ = false;   // guarded by mutex_
  std::thread thread_;
};

}  // namespace webhook
