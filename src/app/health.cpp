#include "app/health.h"

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string_view>

namespace app {
namespace {

using Clock = std::chrono::steady_clock;

// Milliseconds left until `deadline`, at least 0.
int LeftMs(Clock::time_point deadline) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
  return left.count() > 0 ? static_cast<int>(left.count()) : 0;
}

// Waits until `fd` is ready for `events`; false at the deadline.
bool WaitFor(int fd, short events, Clock::time_point deadline) {
  for (;;) {
    pollfd entry{.fd = fd, .events = events, .revents = 0};
    int ready = poll(&entry, 1, LeftMs(deadline));
    if (ready > 0) return true;
    if (ready == 0 || errno != EINTR) return false;
  }
}

// The check itself: "" when the exporter answered 200, else why not.
std::string Check(const std::string& path, std::chrono::milliseconds timeout) {
  const Clock::time_point deadline = Clock::now() + timeout;
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  if (path.empty()) {
    return "no health socket: give --web.health-socket or set CREATIFY_EXPORTER_HEALTH_SOCKET";
  }
  if (path.size() >= sizeof(address.sun_path)) return path + ": the socket path is too long";
  std::memcpy(address.sun_path, path.data(), path.size());
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return std::string("cannot make a socket: ") + std::strerror(errno);
  struct Closer {
    int fd;
    ~Closer() { close(fd); }
  } closer{fd};
  const std::string where = "the exporter at " + path;
  if (connect(fd, reinterpret_cast<const sockaddr*>(&address), sizeof(address)) != 0) {
    // A Unix socket's backlog full: EAGAIN rather than EINPROGRESS.
    if (errno != EINPROGRESS && errno != EAGAIN) {
      return "cannot connect to " + where + ": " + std::strerror(errno);
    }
    if (!WaitFor(fd, POLLOUT, deadline)) return where + " did not accept within the timeout";
    int failure = 0;
    socklen_t length = sizeof(failure);
    getsockopt(fd, SOL_SOCKET, SO_ERROR, &failure, &length);
    if (failure != 0) return "cannot connect to " + where + ": " + std::strerror(failure);
  }
  std::string_view request =
      "GET /-/healthy HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n";
  while (!request.empty()) {
    ssize_t sent = send(fd, request.data(), request.size(), MSG_NOSIGNAL);
    if (sent > 0) {
      request.remove_prefix(static_cast<size_t>(sent));
    } else if (sent < 0 && errno != EAGAIN && errno != EINTR) {
      return "cannot send to " + where + ": " + std::strerror(errno);
    } else if (!WaitFor(fd, POLLOUT, deadline)) {
      return where + " took no request within the timeout";
    }
  }
  // The status line is all that is needed: "HTTP/1.1 200 OK".
  std::string answer;
  while (answer.find("\r\n") == std::string::npos && answer.size() < 1024) {
    if (!WaitFor(fd, POLLIN, deadline)) return where + " did not answer within the timeout";
    char buffer[512];
    ssize_t got = recv(fd, buffer, sizeof(buffer), 0);
    if (got == 0) break;
    if (got < 0) {
      if (errno == EAGAIN || errno == EINTR) continue;
      return "cannot read from " + where + ": " + std::strerror(errno);
    }
    answer.append(buffer, static_cast<size_t>(got));
  }
  std::string status_line = answer.substr(0, answer.find("\r\n"));
  if (status_line.rfind("HTTP/1.", 0) == 0 && status_line.size() >= 12 &&
      status_line.compare(8, 5, " 200 ") == 0) {
    return "";
  }
  if (status_line.empty()) return where + " closed the connection without an answer";
  return where + " answered \"" + status_line + "\" to GET /-/healthy";
}

}  // namespace

int RunHealthCheck(const std::string& socket_path, std::chrono::milliseconds timeout) {
  std::string why = Check(socket_path, timeout);
  if (why.empty()) return 0;
  std::fprintf(stderr, "creatify-exporter: health check failed: %s\n", why.c_str());
  return 1;
}

}  // namespace app
