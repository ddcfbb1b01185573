// An answer ready to be written: its head serialized, its body as pieces of memory the answer
// owns or shares. Built and destroyed on the event-loop thread only (it reuses that thread's
// copy buffers).
#pragma once

#include <sys/uio.h>

#include <string>
#include <vector>

#include "server/http_server.h"

namespace server {

class OutgoingResponse {
 public:
  struct Options {
    // HEAD: the head only, with the body's Content-Length.
    bool head_only = false;
    // Connection: close (the connection ends after this answer).
    bool close = false;
    // HTTP/1.0 client that asked for keep-alive: say it is kept.
    bool keep_alive_1_0 = false;
    // Extra header lines, each ending in "\r\n" (Allow, WWW-Authenticate).
    std::string extra_headers;
  };

  // Takes `response` and renders its head. A stream body with `write` is gathered now (its
  // pieces are sent from where they are), and one that fails or does not match its declared size
  // becomes a 500; one with `read` is read as it is written (Pending).
  OutgoingResponse(Response response, const Options& options);
  // An interim "100 Continue".
  struct Continue {};
  explicit OutgoingResponse(Continue);
  ~OutgoingResponse();
  // Its pieces point into itself: it stays where it was built.
  OutgoingResponse(const OutgoingResponse&) = delete;
  OutgoingResponse& operator=(const OutgoingResponse&) = delete;

  // The pieces still to write, at most `max` of them, into `out`; returns how many. A body read
  // from its stream (StreamBody::read) is read here, one buffer at a time.
  int Pending(iovec* out, int max);
  // Marks `bytes` more as written; true once everything is.
  bool Advance(size_t bytes);
  // A body read from its stream ended before its declared size, or failed: after its head went
  // out, the only way to tell the client is to close the connection.
  bool broken() const { return broken_; }

 private:
  void Render(const Options& options);
  // Reads the next buffer of the body, once what was read before is written.
  void Refill();

  Response response_;
  std::string head_;
  // The buffer a body read from its stream (StreamBody::read) is read into.
  std::string buffer_;
  std::vector<iovec> pieces_;
  size_t index_ = 0;
  size_t offset_ = 0;
  // The stream's read, and how much of the body it has still to give.
  std::function<size_t(char*, size_t)> read_;
  size_t unread_ = 0;
  bool broken_ = false;
};

// A plain-text answer for an error status: "<Reason>\n".
Response ErrorResponse(int status);

}  // namespace server
