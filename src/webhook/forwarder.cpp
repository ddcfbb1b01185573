#include "webhook/forwarder.h"

#include <httplib.h>
#include <sys/socket.h>

#include <algorithm>
#include <condition_variable>
#include <deque>
#include <system_error>
#include <thread>
#include <vector>

#include "creatify/webhook.h"
#include "log/log.h"
#include "state/job_record.h"

namespace webhook {
namespace {

using Clock = std::chrono::steady_clock;

// "scheme://host:port" and the path prefix of a URL (httplib takes them apart).
void SplitUrl(const std::string& url, std::string* origin, std::string* prefix) {
  const size_t scheme_end = url.find("://");
  const size_t path_start = url.find('/', scheme_end == std::string::npos ? 0 : scheme_end + 3);
  *origin = url.substr(0, path_start);
  *prefix = path_start == std::string::npos ? "" : url.substr(path_start);
  while (!prefix->empty() && prefix->back() == '/') prefix->pop_back();
}

// Patience counts in Unix time: it is stored with the call and goes on across restarts.
double UnixNow() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

}  // namespace

// One peer's sender: its calls, oldest first, and the thread that hands them over one at a time.
struct Forwarder::Peer {
  int shard = 0;
  std::string prefix;
  // Used by the sender thread only, except stop() (thread-safe in httplib) from Stop.
  std::unique_ptr<httplib::Client> http;

  std::mutex mutex;
  std::condition_variable wake;
  std::deque<persist::QueuedCall> calls;  // guarded by mutex; the front is the one being sent
  bool stopping = false;                  // guarded by mutex
  Clock::time_point stop_by;              // guarded by mutex: sending may go on until then
  bool finished = false;                  // guarded by mutex: the thread has ended
  bool full_logged = false;               // guarded by mutex: until the queue has room again

  std::mutex cancel_mutex;
  bool cancelled = false;  // guarded by cancel_mutex
  // The socket of the request in progress: httplib's stop() cannot reach a socket that is still
  // connecting, shutdown() can. Guarded by cancel_mutex; -1 between requests.
  int connecting_socket = -1;

  std::thread thread;
};

Forwarder::Forwarder(ForwarderOptions options, persist::ForwardQueue* queue, OnEnd on_end,
                     OnQueued on_queued)
    : options_(std::move(options)),
      queue_(queue),
      on_end_(std::move(on_end)),
      on_queued_(std::move(on_queued)) {
  if (queue_ == nullptr) return;
  std::vector<persist::QueuedCall> calls;
  std::string error;
  if (!queue_->Load(&calls, &error)) {
    logging::Error("Cannot read the stored webhook calls to forward; they wait for a later start",
                   {{"error", error}});
    return;
  }
  if (calls.empty()) return;
  logging::Info("Resuming the webhook calls to forward stored by the last run",
                {{"calls", std::to_string(calls.size())}});
  // Counted before any is sent: a sender may end one before the others are queued.
  if (on_queued_) on_queued_(static_cast<int>(calls.size()));
  int not_resumed = 0;
  for (auto& call : calls) {
    if (options_.total_shards > 0) {
      std::string why;
      if (auto id = creatify::ParseWebhookBody(call.body, &why)) {
        call.shard =
            static_cast<int>(state::IdHash(*id) % static_cast<uint64_t>(options_.total_shards));
      }
    }
    Peer* peer = PeerFor(call.shard);
    if (peer == nullptr) {
      ++not_resumed;
      continue;
    }
    {
      std::lock_guard<std::mutex> lock(peer->mutex);
      peer->calls.push_back(std::move(call));
    }
    peer->wake.notify_all();
  }
  if (on_queued_ && not_resumed > 0) on_queued_(-not_resumed);
}

Forwarder::~Forwarder() { Stop(std::chrono::milliseconds(0)); }

void Forwarder::SetToken(std::string token) {
  std::lock_guard<std::mutex> lock(token_mutex_);
  token_ = std::move(token);
}

std::string Forwarder::PeerUrl(int shard) const {
  std::string url = options_.url_template;
  const std::string number = std::to_string(shard);
  for (size_t at = url.find("{shard}"); at != std::string::npos; at = url.find("{shard}", at)) {
    url.replace(at, 7, number);
    at += number.size();
  }
  return url;
}

Forwarder::Peer* Forwarder::PeerFor(int shard) {
  std::lock_guard<std::mutex> lock(peers_mutex_);
  if (stopped_) return nullptr;
  auto& slot = peers_[shard];
  if (slot) return slot.get();
  auto peer = std::make_unique<Peer>();
  peer->shard = shard;
  std::string origin;
  SplitUrl(PeerUrl(shard), &origin, &peer->prefix);
  try {
    peer->http = std::make_unique<httplib::Client>(origin);
    peer->http->set_connection_timeout(options_.connect_timeout);
    peer->http->set_read_timeout(options_.request_timeout);
    peer->http->set_write_timeout(options_.request_timeout);
    // Called on every new socket before it connects, so that Stop can abort a connect.
    peer->http->set_socket_options([p = peer.get()](int socket) {
      std::lock_guard<std::mutex> cancel_lock(p->cancel_mutex);
      p->connecting_socket = socket;
      if (p->cancelled) shutdown(socket, SHUT_RDWR);
    });
    peer->thread = std::thread([this, p = peer.get()] { Run(*p); });
  } catch (const std::exception& e) {
    logging::Error("Cannot start sending webhook calls to a replica",
                   {{"shard", std::to_string(shard)}, {"error", e.what()}});
    peers_.erase(shard);
    return nullptr;
  }
  slot = std::move(peer);
  return slot.get();
}

Forwarder::Queued Forwarder::Forward(int shard, const std::string& kind, std::string body) {
  Peer* peer = PeerFor(shard);
  if (peer == nullptr) return Queued::kNotStored;
  persist::QueuedCall call{
      .shard = shard, .kind = kind, .body = std::move(body), .received_at = UnixNow()};
  {
    // Stored under the peer's lock: the calls to one peer are stored and sent in the same order.
    std::lock_guard<std::mutex> lock(peer->mutex);
    if (peer->stopping) return Queued::kNotStored;
    if (peer->calls.size() >= options_.max_queue) {
      // Once while the queue stays full: the calls refused are counted one by one.
      if (!peer->full_logged) {
        logging::Warn(
            "Too many webhook calls wait for a replica; refusing more with 503",
            {{"shard", std::to_string(shard)}, {"waiting", std::to_string(peer->calls.size())}});
      }
      peer->full_logged = true;
      return Queued::kFull;
    }
    std::string error;
    if (queue_ != nullptr) {
      const bool stored = queue_->Add(&call, &error);
      std::lock_guard<std::mutex> error_lock(error_mutex_);
      if (!stored && error != last_store_error_) {
        logging::Error("Cannot store a webhook call to forward; answering 503", {{"error", error}});
      } else if (stored && !last_store_error_.empty()) {
        logging::Info("Webhook calls to forward are stored again");
      }
      last_store_error_ = stored ? "" : error;
      if (!stored) return Queued::kNotStored;
    } else {
      call.seq = ++next_seq_;
    }
    // Counted before the sender can see it: never below zero, even for a moment.
    if (on_queued_) on_queued_(1);
    peer->calls.push_back(std::move(call));
  }
  peer->wake.notify_all();
  return Queued::kQueued;
}

Forwarder::Outcome Forwarder::Send(Peer& peer, const persist::QueuedCall& call,
                                   std::string* error) {
  std::string token;
  {
    std::lock_guard<std::mutex> lock(token_mutex_);
    token = token_;
  }
  {
    std::lock_guard<std::mutex> lock(peer.cancel_mutex);
    if (peer.cancelled) {
      *error = "cancelled: the exporter is stopping";
      return Outcome::kRetry;
    }
  }
  httplib::Result result{nullptr, httplib::Error::Unknown};
  try {
    result = peer.http->Post(peer.prefix + "/webhook/" + call.kind + "/" + token + "/forwarded",
                             {{"User-Agent", options_.user_agent}}, call.body, "application/json");
  } catch (const std::exception& e) {
    *error = std::string("unexpected error: ") + e.what();
  }
  {
    std::lock_guard<std::mutex> lock(peer.cancel_mutex);
    peer.connecting_socket = -1;
  }
  if (!result) {
    if (error->empty()) *error = httplib::to_string(result.error());
    return Outcome::kRetry;
  }
  const int status = result->status;
  if (status >= 200 && status < 300) return Outcome::kDelivered;
  *error = "HTTP " + std::to_string(status);
  // 401 and 404: the peer's token or kinds differ from ours for a while (a token rotated, a
  // rolling update or reload half done), so the call waits for them to agree. 408 and 429 ask
  // for a later try; a 5xx is the peer's trouble. Any other 4xx is the peer refusing the call
  // itself: no retry helps.
  const bool retry = status == 401 || status == 404 || status == 408 || status == 429 ||
                     status < 400 || status >= 500;
  return retry ? Outcome::kRetry : Outcome::kRefused;
}

void Forwarder::End(Peer& peer, const persist::QueuedCall& call, std::string_view result,
                    const std::string& error) {
  {
    std::lock_guard<std::mutex> lock(peer.mutex);
    peer.calls.pop_front();
    if (peer.calls.size() < options_.max_queue) peer.full_logged = false;
  }
  std::string store_error;
  if (queue_ != nullptr && !queue_->Remove(call.seq, &store_error)) {
    logging::Warn("Cannot delete a forwarded webhook call; the next start sends it again",
                  {{"kind", call.kind}, {"error", store_error}});
  }
  if (result == kRefused) {
    logging::Error("The replica that owns the job refused a forwarded webhook call",
                   {{"kind", call.kind}, {"shard", std::to_string(call.shard)}, {"error", error}});
  } else if (result == kExpired) {
    logging::Error("Gave up handing a webhook call to the replica that owns its job",
                   {{"kind", call.kind},
                    {"shard", std::to_string(call.shard)},
                    {"error", error.empty() ? "unreachable" : error}});
  }
  if (on_queued_) on_queued_(-1);
  if (on_end_) on_end_(call.kind, result);
}

void Forwarder::Run(Peer& peer) {
  const double patience = std::chrono::duration<double>(options_.patience).count();
  int failures = 0;
  std::string last_error;
  std::unique_lock<std::mutex> lock(peer.mutex);
  for (;;) {
    peer.wake.wait(lock, [&] { return peer.stopping || !peer.calls.empty(); });
    if (peer.stopping && (peer.calls.empty() || Clock::now() >= peer.stop_by)) break;
    // Only this thread takes calls off the queue: the front stays while it is unlocked.
    const persist::QueuedCall call = peer.calls.front();
    lock.unlock();
    if (UnixNow() - call.received_at >= patience) {
      End(peer, call, kExpired, last_error);
      lock.lock();
      continue;
    }
    std::string error;
    const Outcome outcome = Send(peer, call, &error);
    if (outcome != Outcome::kRetry) {
      if (failures > 0) {
        logging::Info("A replica takes forwarded webhook calls again",
                      {{"shard", std::to_string(peer.shard)}});
      }
      failures = 0;
      last_error.clear();
      End(peer, call, outcome == Outcome::kDelivered ? kDelivered : kRefused, error);
      lock.lock();
      continue;
    }
    lock.lock();
    // A send cut short by Stop says nothing of the peer.
    if (failures++ == 0 && !peer.stopping) {
      logging::Warn("Cannot hand webhook calls to the replica that owns their jobs; retrying",
                    {{"shard", std::to_string(peer.shard)}, {"error", error}});
    }
    last_error = error;
    // 1 s, 2 s, 4 s, ... up to max_backoff; the calls behind this one wait too, to keep the order.
    auto backoff = options_.max_backoff;
    if (failures <= 20) {
      backoff = std::min(backoff, options_.first_backoff * (1L << (failures - 1)));
    }
    const auto retry_at = Clock::now() + backoff;
    for (;;) {
      const auto until = peer.stopping ? std::min(retry_at, peer.stop_by) : retry_at;
      if (Clock::now() >= until) break;
      peer.wake.wait_until(lock, until);
    }
  }
  peer.finished = true;
  lock.unlock();
  peer.wake.notify_all();
}

size_t Forwarder::Stop(std::chrono::milliseconds drain) {
  std::vector<Peer*> peers;
  bool again = false;
  {
    std::lock_guard<std::mutex> lock(peers_mutex_);
    again = stopped_;
    stopped_ = true;
    for (auto& [shard, peer] : peers_) peers.push_back(peer.get());
  }
  if (again) return Waiting();
  // Stored calls are resumed at the next start: no reason to hold up the stop for them.
  const auto stop_by = Clock::now() + (queue_ != nullptr ? std::chrono::milliseconds(0) : drain);
  for (Peer* peer : peers) {
    {
      std::lock_guard<std::mutex> lock(peer->mutex);
      peer->stopping = true;
      peer->stop_by = stop_by;
    }
    peer->wake.notify_all();
  }
  for (Peer* peer : peers) {
    {
      std::unique_lock<std::mutex> lock(peer->mutex);
      peer->wake.wait_until(lock, stop_by, [&] { return peer->finished; });
    }
    {
      std::lock_guard<std::mutex> lock(peer->cancel_mutex);
      peer->cancelled = true;
      if (peer->connecting_socket >= 0) shutdown(peer->connecting_socket, SHUT_RDWR);
    }
    // Outside cancel_mutex: httplib calls the socket option callback (which takes it) while it
    // holds its own socket lock, which stop() takes too.
    peer->http->stop();
    peer->thread.join();
  }
  const size_t left = Waiting();
  if (left > 0 && queue_ != nullptr) {
    logging::Info("Webhook calls to forward stay stored in the state file for the next start",
                  {{"calls", std::to_string(left)}});
  } else if (left > 0) {
    logging::Error(
        "Webhook calls to forward were lost: without a state file they live in memory only",
        {{"calls", std::to_string(left)}});
  }
  return left;
}

size_t Forwarder::Waiting() const {
  std::vector<Peer*> peers;
  {
    std::lock_guard<std::mutex> lock(peers_mutex_);
    for (const auto& [shard, peer] : peers_) peers.push_back(peer.get());
  }
  size_t waiting = 0;
  for (Peer* peer : peers) {
    std::lock_guard<std::mutex> lock(peer->mutex);
    waiting += peer->calls.size();
  }
  return waiting;
}

}  // namespace webhook
