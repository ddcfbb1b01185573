#include "server/connection.h"

#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <utility>

#include "server/accept.h"

namespace server {
namespace {

// Handlers never leak what went wrong inside them: a throw is a bare 500.
Response CallHandler(const Handler& handler, const Request& request) {
  try {
    return handler(request);
  } catch (...) {
    return ErrorResponse(500);
  }
}

constexpr Clock::duration kNoTimeout = Clock::duration::max();

}  // namespace

Connection::Connection(uint64_t id, int fd, std::unique_ptr<Transport> transport,
                       ServerContext& context, Clock::time_point now, std::string client)
    : id_(id),
      fd_(fd),
      client_(std::move(client)),
      transport_(std::move(transport)),
      context_(context) {
  SetPhase(Phase::kHandshake, now, kHandshakeTimeout);
}

Connection::~Connection() {
  if (abandoned_) abandoned_->store(true);
  transport_.reset();
  close(fd_);
}

void Connection::SetPhase(Phase phase, Clock::time_point now, Clock::duration timeout) {
  phase_ = phase;
  phase_start_ = now;
  deadline_ = timeout == kNoTimeout ? Clock::time_point::max() : now + timeout;
}

bool Connection::evictable() const {
  return out_.empty() && (phase_ == Phase::kHandshake || phase_ == Phase::kReadHead ||
                          phase_ == Phase::kAuthorizing);
}

bool Connection::Expire(Clock::time_point now) {
  if (phase_ != Phase::kAuthorizing) return false;
  if (refusal_status_ != 0) {
    // A refusal held for its delay: the connection may go on (its next request is read).
    const int status = std::exchange(refusal_status_, 0);
    Respond(ErrorResponse(status), now, head_.has_body(), "Retry-After: 1\r\n");
    return true;
  }
  abandoned_->store(true);
  abandoned_.reset();
  Respond(ErrorResponse(503), now, /*close=*/true, "Retry-After: 1\r\n");
  return true;
}

bool Connection::BeginStop() {
  stopping_ = true;
  close_after_write_ = true;
  return phase_ == Phase::kWorking || !out_.empty();
}

bool Connection::Drive(Clock::time_point now) {
  for (;;) {
    if (phase_ == Phase::kHandshake) {
      IoStatus status = transport_->Handshake();
      if (status == IoStatus::kWouldBlock) return true;
      if (status != IoStatus::kOk) return false;
      // The first request must start soon after the connection does.
      SetPhase(Phase::kReadHead, now, kHeadTimeout);
    }
    if (!out_.empty()) {
      Step step = Flush(now);
      if (step != Step::kProgress) return step == Step::kWait;
      if (close_after_write_ || stopping_) return false;
      if (phase_ == Phase::kWriting) {
        served_one_ = true;
        scanned_ = 0;
        SetPhase(Phase::kReadHead, now, in_.empty() ? kIdleTimeout : kHeadTimeout);
      }
    }
    Step step = Step::kWait;
    if (phase_ == Phase::kReadHead) {
      step = ReadHead(now);
    } else if (phase_ == Phase::kReadBody) {
      step = ReadBody(now);
    }
    if (step == Step::kClose) return false;
    if (step == Step::kWait && out_.empty()) return true;
  }
}

Connection::Step Connection::Fill(size_t limit, Clock::time_point now) {
  if (peer_closed_) return Step::kClose;
  IoResult result =
      transport_->Read(context_.read_buffer, std::min(limit, context_.read_buffer_size));
  switch (result.status) {
    case IoStatus::kWouldBlock:
      return Step::kWait;
    case IoStatus::kOk:
      if (phase_ == Phase::kReadHead && in_.empty()) {
        // A request's first byte: its head must be complete within kHeadTimeout.
        SetPhase(Phase::kReadHead, now, kHeadTimeout);
      }
      in_.append(context_.read_buffer, result.bytes);
      return Step::kProgress;
    case IoStatus::kClosed:
      peer_closed_ = true;
      return Step::kClose;
    case IoStatus::kError:
      return Step::kClose;
  }
  return Step::kClose;
}

Connection::Step Connection::ReadHead(Clock::time_point now) {
  for (;;) {
    if (!in_.empty()) {
      HeadResult result = ParseRequestHead(in_, &scanned_, &head_);
      if (result.status == ParseStatus::kDone) {
        in_.erase(0, result.consumed);
        OnHead(now);
        return Step::kProgress;
      }
      if (result.status == ParseStatus::kError) {
        in_.clear();
        head_ = RequestHead();
        Respond(ErrorResponse(result.error_status), now, /*close=*/true);
        return Step::kProgress;
      }
    }
    // One byte past the limit is enough to know the head is too large.
    size_t room = kMaxHeadBytes + 1 - std::min(in_.size(), kMaxHeadBytes);
    Step step = Fill(room, now);
    if (step != Step::kProgress) return step;
  }
}

void Connection::OnHead(Clock::time_point now) {
  const bool is_public =
      std::any_of(context_.public_prefixes.begin(), context_.public_prefixes.end(),
                  [&](const std::string& prefix) { return head_.path.rfind(prefix, 0) == 0; });
  const auto security = context_.security ? context_.security->Get() : nullptr;
  if (!security || !security->authorizer.check || is_public) {
    Route(now);
    return;
  }
  const Authorizer& authorizer = security->authorizer;
  // Credentials let in before are answered here, without waiting behind anyone's bcrypt.
  if (authorizer.recall) {
    std::optional<bool> known;
    try {
      known = authorizer.recall(head_.authorization);
    } catch (...) {
      OnAuthorized(-1, now);
      return;
    }
    if (known) {
      OnAuthorized(*known ? 1 : 0, now);
      return;
    }
  }
  QueueCheck(authorizer, now);
}

void Connection::QueueCheck(const Authorizer& authorizer, Clock::time_point now) {
  // The body (if any) waits unread.
  SetPhase(Phase::kAuthorizing, now, kAuthWaitTimeout);
  abandoned_ = std::make_shared<std::atomic<bool>>(false);
  auto admission = context_.auth_queue->Submit(
      client_, abandoned_,
      [check = authorizer.check, post = context_.post, id = id_,
       authorization = std::move(head_.authorization)] {
        int verdict = -1;
        try {
          verdict = check(authorization) ? 1 : 0;
        } catch (...) {
        }
        post(id,
             [verdict](Connection& connection) { connection.OnAuthorized(verdict, Clock::now()); });
      });
  if (admission == AuthQueue::Admission::kQueued) return;
  abandoned_.reset();
  // Too many checks waiting: this client's own (429), or everyone's (503), answered after the
  // Retry-After it names (Expire), so that asking again at once does not make a busy loop.
  refusal_status_ = admission == AuthQueue::Admission::kClientBusy ? 429 : 503;
  SetPhase(Phase::kAuthorizing, now, kRefusalDelay);
}

void Connection::OnAuthorized(int verdict, Clock::time_point now) {
  // An answer that comes after the connection answered its deadline is dropped.
  if (phase_ != Phase::kAuthorizing && phase_ != Phase::kReadHead) return;
  abandoned_.reset();
  if (verdict == 1) {
    Route(now);
    return;
  }
  if (verdict == 0) {
    Respond(ErrorResponse(401), now, head_.has_body(),
            "WWW-Authenticate: Basic realm=\"creatify-exporter\"\r\n");
    return;
  }
  Respond(ErrorResponse(500), now, /*close=*/true);
}

void Connection::Route(Clock::time_point now) {
  const RouteTable& routes = *context_.routes;
  const std::string& method = head_.method;
  if (method == "GET" || method == "HEAD") {
    if (const Handler* handler = routes.FindGet(head_.path)) {
      // GET handlers return an already rendered body: they run here, on the event loop.
      Request request{.method = method,
                      .path = head_.path,
                      .accepts_gzip = head_.accepts_gzip,
                      .accepts_openmetrics = PrefersOpenMetrics(head_.accept)};
      // A body on a GET is not read: the connection ends with the answer.
      Respond(CallHandler(*handler, request), now, head_.has_body());
      return;
    }
  } else if (method == "POST") {
    if (const PostRoute* route = routes.FindPost(head_.path)) {
      StartBody(*route, now);
      return;
    }
  }
  std::string allow = routes.Allow(head_.path);
  if (!allow.empty()) {
    Respond(ErrorResponse(405), now, /*close=*/true, "Allow: " + allow + "\r\n");
    return;
  }
  Respond(ErrorResponse(404), now, head_.has_body());
}

void Connection::StartBody(const PostRoute& route, Clock::time_point now) {
  post_route_ = &route;
  request_ = Request{.method = head_.method,
                     .path = head_.path,
                     .accepts_gzip = head_.accepts_gzip,
                     .accepts_openmetrics = PrefersOpenMetrics(head_.accept)};
  chunked_.reset();
  if (!head_.has_body()) {
    RunPostHandler();
    SetPhase(Phase::kWorking, now, kNoTimeout);
    return;
  }
  if (head_.content_length && *head_.content_length > route.max_body_bytes) {
    // Not a byte of it is read: the connection ends with the answer.
    request_.body_too_large = true;
    close_after_write_ = true;
    RunPostHandler();
    SetPhase(Phase::kWorking, now, kNoTimeout);
    return;
  }
  if (head_.chunked) chunked_.emplace(route.max_body_bytes);
  body_left_ = head_.content_length.value_or(0);
  SetPhase(Phase::kReadBody, now, kBodyTimeout);
  if (head_.expect_continue) out_.emplace_back(OutgoingResponse::Continue{});
}

Connection::Step Connection::ReadBody(Clock::time_point now) {
  for (;;) {
    if (!in_.empty()) {
      bool complete = false;
      if (chunked_) {
        size_t used = 0;
        auto status = chunked_->Feed(in_, &request_.body, &used);
        in_.erase(0, used);
        if (status == ChunkedDecoder::Status::kError) {
          in_.clear();
          Respond(ErrorResponse(400), now, /*close=*/true);
          return Step::kProgress;
        }
        if (status == ChunkedDecoder::Status::kTooLarge) {
          in_.clear();
          request_.body.clear();
          request_.body_too_large = true;
          close_after_write_ = true;
        }
        complete = status != ChunkedDecoder::Status::kIncomplete;
      } else {
        size_t take = static_cast<size_t>(std::min<uint64_t>(body_left_, in_.size()));
        request_.body.append(in_, 0, take);
        in_.erase(0, take);
        body_left_ -= take;
        complete = body_left_ == 0;
      }
      if (complete) {
        RunPostHandler();
        SetPhase(Phase::kWorking, now, kNoTimeout);
        return Step::kProgress;
      }
    }
    size_t want = chunked_ ? context_.read_buffer_size : static_cast<size_t>(body_left_);
    Step step = Fill(want, now);
    if (step != Step::kProgress) return step;
  }
}

void Connection::RunPostHandler() {
  request_.received = Clock::now();
  context_.handlers->Submit([route = post_route_, post = context_.post, id = id_,
                             request = std::move(request_)]() mutable {
    auto response = std::make_shared<Response>(CallHandler(route->handler, request));
    post(id, [response](Connection& connection) {
      connection.Respond(std::move(*response), Clock::now());
    });
  });
  request_ = Request();
}

void Connection::Respond(Response response, Clock::time_point now, bool close,
                         std::string extra_headers) {
  close_after_write_ = close_after_write_ || close || head_.close || stopping_;
  OutgoingResponse::Options options{
      .head_only = head_.method == "HEAD",
      .close = close_after_write_,
      .keep_alive_1_0 = head_.minor_version == 0,
      .extra_headers = std::move(extra_headers),
  };
  out_.emplace_back(std::move(response), options);
  SetPhase(Phase::kWriting, now, kWriteTimeout);
}

Connection::Step Connection::Flush(Clock::time_point now) {
  yielded_ = false;
  size_t written = 0;
  while (!out_.empty()) {
    if (written >= kWriteTurnBytes) {
      yielded_ = true;
      return Step::kWait;
    }
    iovec pieces[64];
    int count = out_.front().Pending(pieces, 64);
    if (out_.front().broken()) return Step::kClose;
    // No more than the rest of this turn.
    size_t room = kWriteTurnBytes - written;
    for (int i = 0; i < count; ++i) {
      if (pieces[i].iov_len >= room) {
        pieces[i].iov_len = room;
        count = i + 1;
        break;
      }
      room -= pieces[i].iov_len;
    }
    IoResult result = transport_->Write(pieces, count);
    if (result.status == IoStatus::kWouldBlock) return Step::kWait;
    if (result.status != IoStatus::kOk) return Step::kClose;
    if (result.bytes == 0) return Step::kWait;
    // A client that takes its answer keeps its connection, however slowly it reads.
    deadline_ = now + kWriteTimeout;
    written += result.bytes;
    if (out_.front().Advance(result.bytes)) out_.pop_front();
  }
  return Step::kProgress;
}

}  // namespace server
