// A raw TCP client for the server's tests: sends exactly the bytes a test chooses (malformed,
// partial, slow) and reads the answer as it comes, with timeouts. Not thread-safe.
#pragma once

#include <chrono>
#include <string>
#include <string_view>

namespace rawclient {

struct Answer {
  // 0 when the connection ended (or the time ran out) before a whole head arrived.
  int status = 0;
  std::string head;
  std::string body;
  // The connection was closed by the server.
  bool closed = false;
  // A header's value ("" when absent), by case-insensitive name.
  std::string Header(std::string_view name) const;
};

class Connection {
 public:
  // Connects to 127.0.0.1:port; `receive_buffer` > 0 shrinks the socket's receive buffer;
  // `source` (another loopback address, e.g. "127.0.0.2") is the address it connects from.
  explicit Connection(int port, int receive_buffer = 0, const char* source = nullptr);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  bool connected() const { return fd_ >= 0; }
  int fd() const { return fd_; }
  // Sends all of `bytes`; false when the server closed the connection first.
  bool Send(std::string_view bytes);
  // Reads one answer: its head, and a body of its Content-Length unless `head_only`.
  Answer Read(std::chrono::milliseconds timeout = std::chrono::seconds(5), bool head_only = false);
  // Waits for the server to close the connection (reading and dropping whatever comes).
  bool WaitClosed(std::chrono::milliseconds timeout = std::chrono::seconds(5));
  // Everything received until the server closes the connection or `timeout` passes.
  std::string ReadAll(std::chrono::milliseconds timeout = std::chrono::seconds(5));

 private:
  // Receives more into buffer_; false on close, error or timeout.
  bool Receive(std::chrono::steady_clock::time_point deadline);

  int fd_ = -1;
  bool closed_ = false;
  std::string buffer_;
};

}  // namespace rawclient
