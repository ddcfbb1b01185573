#include <sys/socket.h>

#include <cerrno>

#include "server/transport.h"

namespace server {
namespace {

class PlainTransport : public Transport {
 public:
  explicit PlainTransport(int fd) : fd_(fd) {}

  IoStatus Handshake() override { return IoStatus::kOk; }

  IoResult Read(char* buffer, size_t size) override {
    for (;;) {
      ssize_t n = recv(fd_, buffer, size, 0);
      if (n > 0) return {IoStatus::kOk, static_cast<size_t>(n)};
      if (n == 0) return {IoStatus::kClosed, 0};
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) return {IoStatus::kWouldBlock, 0};
      return {IoStatus::kError, 0};
    }
  }

  IoResult Write(const iovec* pieces, int count) override {
    msghdr message{};
    message.msg_iov = const_cast<iovec*>(pieces);
    message.msg_iovlen = static_cast<size_t>(count);
    for (;;) {
      // MSG_NOSIGNAL: a client gone away is an error here, not a SIGPIPE.
      ssize_t n = sendmsg(fd_, &message, MSG_NOSIGNAL);
      if (n >= 0) return {IoStatus::kOk, static_cast<size_t>(n)};
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) return {IoStatus::kWouldBlock, 0};
      return {IoStatus::kError, 0};
    }
  }

 private:
  int fd_;
};

}  // namespace

std::unique_ptr<Transport> NewPlainTransport(int fd) {
  return std::make_unique<PlainTransport>(fd);
}

}  // namespace server
