// One client connection of the event loop: reads and parses its requests, routes them, and writes
// the answers, without ever blocking. Lives on the event-loop thread only (not thread-safe); work
// handed to a worker comes back through ServerContext::post, keyed by the connection's id, so that
// a connection closed meanwhile simply drops it.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "server/auth_queue.h"
#include "server/handler_pool.h"
#include "server/http_server.h"
#include "server/request_parser.h"
#include "server/response_writer.h"
#include "server/route_table.h"
#include "server/security.h"
#include "server/transport.h"

namespace server {

using Clock = std::chrono::steady_clock;

// The limits of a connection's phases.
inline constexpr auto kHandshakeTimeout = std::chrono::seconds(10);
// From a request's first byte to the end of its head (and from accept to the first byte).
inline constexpr auto kHeadTimeout = std::chrono::seconds(10);
// From the end of a POST's head to the end of its body.
inline constexpr auto kBodyTimeout = std::chrono::seconds(10);
// Between two requests on a kept-alive connection.
inline constexpr auto kIdleTimeout = std::chrono::seconds(120);
// From the end of a head to the start of its password check: a request that waited this long for
// its turn gets 503.
inline constexpr auto kAuthWaitTimeout = std::chrono::seconds(10);
// How long a request whose check was refused (too many waiting) is held before its 429 or 503:
// the Retry-After it is told, so that a client that asks again at once gets one answer a second
// per connection, not thousands that cost the loops their time.
inline constexpr auto kRefusalDelay = std::chrono::seconds(1);
// Without a byte of the answer taken by the client.
inline constexpr auto kWriteTimeout = std::chrono::seconds(10);
// What a connection writes in one turn before the loop turns to the others: 16 scrapers of a
// 12 MB body then share the loop evenly, instead of one taking it until its socket is full
// (which made the slowest scrape of 16 take four times the median).
inline constexpr size_t kWriteTurnBytes = 256 * 1024;

class Connection;

// What connections share: owned by the event loop, which outlives them.
struct ServerContext {
  const RouteTable* routes = nullptr;
  // TLS and the authorizer of the moment (an empty check lets every request through).
  const SecuritySlot* security = nullptr;
  // Paths under these skip the authorizer (they authenticate their callers themselves).
  std::vector<std::string> public_prefixes;
  // POST handlers run there, password checks in the queue: never on the event loop.
  HandlerPool* handlers = nullptr;
  AuthQueue* auth_queue = nullptr;
  // Runs `apply` on the event loop with connection `id`, if it is still open. Thread-safe.
  std::function<void(uint64_t id, std::function<void(Connection&)> apply)> post;
  // Scratch space for reads (the loop's, shared by its connections).
  char* read_buffer = nullptr;
  size_t read_buffer_size = 0;
};

class Connection {
 public:
  // Takes `fd`, closed on destruction. `client`: the peer's address (password checks take turns
  // per address).
  Connection(uint64_t id, int fd, std::unique_ptr<Transport> transport, ServerContext& context,
             Clock::time_point now, std::string client = "");
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  uint64_t id() const { return id_; }
  int fd() const { return fd_; }

  // Makes all the progress the socket allows, or kWriteTurnBytes of its answers; false when the
  // connection is to be closed now.
  bool Drive(Clock::time_point now);
  // The last Drive stopped at kWriteTurnBytes with the socket still writable: drive it again
  // (edge-triggered, no event will say so).
  bool yielded() const { return yielded_; }

  // The time after which the connection is closed, whatever its phase, unless Expire answers it.
  Clock::time_point deadline() const { return deadline_; }
  // The deadline has passed: true when the connection answers it (503 for a request still waiting
  // for its password check) and is to be driven, false when it is to be closed.
  bool Expire(Clock::time_point now);
  // Waiting for a request (idle, or its head trickling in), in its TLS handshake, or waiting for
  // its password check: it may be closed to make room for a new connection.
  bool evictable() const;
  // Since when it has been in that phase (the oldest is evicted first).
  Clock::time_point phase_start() const { return phase_start_; }

  // The server stops: an answer under way is finished and the connection closed after it. False
  // when the connection can be closed now.
  bool BeginStop();

 private:
  enum class Phase { kHandshake, kReadHead, kAuthorizing, kReadBody, kWorking, kWriting };
  enum class Step { kProgress, kWait, kClose };

  Step ReadHead(Clock::time_point now);
  Step ReadBody(Clock::time_point now);
  // Reads more into in_, at most `limit` bytes.
  Step Fill(size_t limit, Clock::time_point now);
  // Writes queued answers: kProgress once all are written.
  Step Flush(Clock::time_point now);
  void OnHead(Clock::time_point now);
  // Queues the slow half of the authorizer's check.
  void QueueCheck(const Authorizer& authorizer, Clock::time_point now);
  void OnAuthorized(int verdict, Clock::time_point now);
  void Route(Clock::time_point now);
  void StartBody(const PostRoute& route, Clock::time_point now);
  void RunPostHandler();
  void Respond(Response response, Clock::time_point now, bool close = false,
               std::string extra_headers = "");
  void SetPhase(Phase phase, Clock::time_point now, Clock::duration timeout);

  uint64_t id_;
  int fd_;
  const std::string client_;
  // Set when the password check queued for this connection's request is no longer wanted.
  std::shared_ptr<std::atomic<bool>> abandoned_;
  // kAuthorizing without a check: the status (429 or 503) answered when kRefusalDelay is over.
  int refusal_status_ = 0;
  std::unique_ptr<Transport> transport_;
  ServerContext& context_;
  Phase phase_ = Phase::kHandshake;
  Clock::time_point phase_start_;
  Clock::time_point deadline_;
  bool served_one_ = false;
  bool peer_closed_ = false;
  bool close_after_write_ = false;
  bool stopping_ = false;
  bool yielded_ = false;

  // Received bytes not parsed yet (a head, a body, pipelined requests).
  std::string in_;
  size_t scanned_ = 0;
  RequestHead head_;
  Request request_;
  const PostRoute* post_route_ = nullptr;
  uint64_t body_left_ = 0;
  std::optional<ChunkedDecoder> chunked_;
  std::deque<OutgoingResponse> out_;
};

}  // namespace server
