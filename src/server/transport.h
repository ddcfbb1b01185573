// A connection's byte stream: plain TCP, or TLS over it. Non-blocking: every call returns at
// once, saying whether it must wait for the socket. Not thread-safe: one connection, one thread.
#pragma once

#include <sys/uio.h>

#include <cstddef>
#include <memory>

namespace server {

enum class IoStatus {
  kOk,
  // Nothing can be done until the socket is readable or writable again.
  kWouldBlock,
  // The peer closed the stream.
  kClosed,
  kError,
};

struct IoResult {
  IoStatus status = IoStatus::kOk;
  size_t bytes = 0;
};

class Transport {
 public:
  virtual ~Transport() = default;
  // Completes the TLS handshake: kOk once done (at once for plain TCP), kWouldBlock, or kError.
  virtual IoStatus Handshake() = 0;
  // Reads what is available, up to `size` bytes.
  virtual IoResult Read(char* buffer, size_t size) = 0;
  // Writes as much of the pieces as the socket takes; kOk with the bytes written (perhaps fewer
  // than asked), or kWouldBlock when it takes none.
  virtual IoResult Write(const iovec* pieces, int count) = 0;
};

// Plain TCP on `fd`, which stays owned by the caller.
std::unique_ptr<Transport> NewPlainTransport(int fd);

}  // namespace server
