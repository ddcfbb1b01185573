// Hands webhook calls for jobs that another replica owns (--total-shards) to that replica, in the
// background, retrying while it is unreachable: a call that reached the wrong replica is not lost
// while its owner restarts. Calls go to --shard.peer-url with {shard} replaced, at
// /webhook/{kind}/{token}/forwarded, which the owner takes as its own without forwarding again.
//
// Each peer replica has a sender of its own (a queue and a thread): a peer that is down or slow
// holds up only its own calls, which go in the order they were received. With a ForwardQueue (the
// state file), a call is stored before Forward returns kQueued, and the calls stored by an
// earlier run are resumed at construction: a stop, a crash or a rolling update loses none. The
// token is read when a call is sent (SetToken), never stored with it, so a rotated token applies
// to the calls already waiting. A call is delivered at least once: a crash between the peer's
// answer and the deletion of the stored call sends it again, which the owner takes as a repeat.
//
// Thread-safe. Stop (or the destructor) ends the senders; see Stop for what becomes of the calls
// still waiting.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "persist/forward_queue.h"

namespace webhook {

// The most calls waiting for one peer; more are refused (503) until some went.
inline constexpr size_t kMaxForwardQueue = 10000;
// A call is tried for this long after it was first received, across restarts, before it is given
// up: a peer down for 10 minutes (a slow rolling update) still gets its calls.
inline constexpr std::chrono::minutes kForwardPatience{15};

// The `result` label values of creatify_exporter_webhook_forwards_total: how a call accepted for
// forwarding ended.
inline constexpr std::string_view kDelivered = "delivered";  // the peer answered 2xx
inline constexpr std::string_view kRefused = "refused";      // the peer refused it for good (4xx)
inline constexpr std::string_view kExpired = "expired";      // kForwardPatience ran out

struct ForwarderOptions {
  std::string url_template;
  std::string user_agent;
  // The number of shards now: a resumed call goes to the owner its job has now, which differs
  // from the one stored when --total-shards changed since. 0: as stored.
  int total_shards = 0;
  std::chrono::milliseconds patience = kForwardPatience;
  // The wait after a failed attempt, doubled after each further one up to max_backoff; per peer.
  std::chrono::milliseconds first_backoff = std::chrono::seconds(1);
  std::chrono::milliseconds max_backoff = std::chrono::seconds(30);
  size_t max_queue = kMaxForwardQueue;
  std::chrono::milliseconds connect_timeout = std::chrono::seconds(2);
  std::chrono::milliseconds request_timeout = std::chrono::seconds(5);
};

class Forwarder {
 public:
  enum class Queued {
    kQueued,
    // The peer's queue holds max_queue calls.
    kFull,
    // The call could not be stored (the state file cannot be written), or the forwarder stopped.
    kNotStored,
  };
  // How a call ended (kDelivered, kRefused, kExpired), with its kind; on a sender's thread.
  using OnEnd = std::function<void(const std::string& kind, std::string_view result)>;
  // The number of calls waiting changed by `delta`; on any thread.
  using OnQueued = std::function<void(int delta)>;

  // `queue`, when set, must outlive the forwarder: its calls are resumed now, and every call is
  // stored there until it ends. Without it calls are kept in memory only.
  Forwarder(ForwarderOptions options, persist::ForwardQueue* queue, OnEnd on_end,
            OnQueued on_queued = nullptr);
  // Stop(0) unless Stop was called.
  ~Forwarder();
  Forwarder(const Forwarder&) = delete;
  Forwarder& operator=(const Forwarder&) = delete;

  // The token the calls are sent with from now on.
  void SetToken(std::string token);

  // Queues a call for replica `shard`.
  Queued Forward(int shard, const std::string& kind, std::string body);

  // Ends the senders. Calls still waiting: with a ForwardQueue they stay stored and are resumed
  // at the next start; without one, sending goes on for up to `drain` (until each queue is
  // empty), then the calls left are lost and logged. A send in progress at the end is cancelled.
  // Returns the calls left waiting. Idempotent.
  size_t Stop(std::chrono::milliseconds drain);

  // Calls waiting, all peers together.
  size_t Waiting() const;

  // The URL of replica `shard`'s receiver (for tests and logs; the token is not in it).
  std::string PeerUrl(int shard) const;

 private:
  struct Peer;
  enum class Outcome { kDelivered, kRefused, kRetry };

  // The sender of `shard`, started on first use; nullptr once stopped or if its thread cannot
  // start.
  Peer* PeerFor(int shard);
  void Run(Peer& peer);
  Outcome Send(Peer& peer, const persist::QueuedCall& call, std::string* error);
  // Deletes an ended call from the queue, counts and logs it.
  void End(Peer& peer, const persist::QueuedCall& call, std::string_view result,
           const std::string& error);

  const ForwarderOptions options_;
  persist::ForwardQueue* const queue_;
  const OnEnd on_end_;
  const OnQueued on_queued_;

  mutable std::mutex token_mutex_;
  std::string token_;  // guarded by token_mutex_

  mutable std::mutex peers_mutex_;
  std::map<int, std::unique_ptr<Peer>> peers_;  // guarded by peers_mutex_
  bool stopped_ = false;                        // guarded by peers_mutex_

  std::mutex error_mutex_;
  std::string last_store_error_;  // guarded by error_mutex_: logged once per change
  // The seq of calls kept in memory only.
  std::atomic<int64_t> next_seq_{0};
};

}  // namespace webhook
