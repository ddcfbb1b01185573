// The webhook receiver: POST /webhook/{kind}/{token} (with workspaces,
// /webhook/{workspace}/{kind}/{token}), the URL users pass as webhook_url when they
// create jobs. A valid call answers 202 at once, tracks the job and queues it to be read now; the
// body only names the job (it is never counted by itself), so Creatify calling several times for
// one job moves no counter twice. Every call is counted by kind and result.
//
// Thread-safe: Handle runs on the server's threads; Configure (a reload) may run at any time.
#pragma once

#include <mutex>
#include <set>
#include <string>
#include <string_view>

#include "poller/hints.h"
#include "poller/poller.h"
#include "server/http_server.h"
#include "state/store.h"
#include "webhook/forwarder.h"

namespace webhook {

// The route's prefix: /webhook/{kind}/{token}.
inline constexpr char kPathPrefix[] = "/webhook/";

// The `result` label values of creatify_exporter_webhook_requests_total.
inline constexpr std::string_view kAccepted = "accepted";          // 202: tracked, read now
inline constexpr std::string_view kDropped = "dropped";            // 202: max_tracked_jobs reached
inline constexpr std::string_view kUnauthorized = "unauthorized";  // 401
inline constexpr std::string_view kUnknownKind = "unknown_kind";   // 404
inline constexpr std::string_view kTooLarge = "too_large";         // 413
inline constexpr std::string_view kBadRequest = "bad_request";     // 400
// 202: another replica owns the job, and the call is queued to be handed to it (how that ends
// is counted in creatify_exporter_webhook_forwards_total).
inline constexpr std::string_view kForwarded = "forwarded";
// 503, so that the sender tries again: kMaxForwardQueue calls already wait for the owner.
inline constexpr std::string_view kForwardQueueFull = "forward_queue_full";
// 503 too: the call could not be queued (the state file cannot be written, the exporter stops).
inline constexpr std::string_view kForwardFailed = "forward_failed";
// The `kind` label of a call whose kind is not an enabled kind (the path's word is never used
// as a label value: anyone may send anything).
inline constexpr std::string_view kOtherKind = "other";
// With workspaces: the same, with workspace="" (the workspace is not known either).
inline constexpr std::string_view kOtherScopedKind = "/other";

struct Settings {
  // Empty: no webhook route (every call gets 404, and nothing is counted).
  std::string token;
  // The enabled kinds' labels; with workspaces, scoped (creatify::ScopedKind).
  std::set<std::string, std::less<>> kinds;
  // With `workspaces:` the route is /webhook/{workspace}/{kind}/{token}.
  bool workspaces = false;
};

// Constant-time comparison: the time taken depends only on the lengths, not on where the two
// strings differ.
bool TokenEquals(std::string_view given, std::string_view expected);

class Receiver {
 public:
  // `store`, `hints` and `forwarder` must outlive the receiver. With several shards, a call for a
  // job of another shard goes to `forwarder` (nullptr: tracked here all the same).
  Receiver(state::Store& store, poller::Hints& hints, poller::Shard shard = {},
           Forwarder* forwarder = nullptr)
      : store_(store), hints_(hints), shard_(shard), forwarder_(forwarder) {}

  // Takes effect for the next call, and for the forwarder's next send (its token). Sets the
  // counters of every (enabled kind, result) to exist.
  void Configure(Settings settings);

  server::Response Handle(const server::Request& request);

  // Whether the route exists: a token is configured. Without one, every method gets 404.
  bool Enabled() const;

 private:
  server::Response Answer(std::string_view kind, std::string_view result, int status,
                          std::string body);

  state::Store& store_;
  poller::Hints& hints_;
  const poller::Shard shard_;
  Forwarder* const forwarder_;
  mutable std::mutex mutex_;
  Settings settings_;  // guarded by mutex_
};

}  // namespace webhook
