// The server's event loop: accepts connections on a listening socket and drives them with epoll
// until told to stop. Runs on one thread (Serve's); Wake() is the only call safe from others.
#pragma once

#include <atomic>
#include <functional>
#include <string_view>

#include "server/route_table.h"
#include "server/tls.h"

namespace server {

struct EventLoopOptions {
  // Non-blocking listening socket; the loop closes it when it stops accepting.
  int listen_fd = -1;
  // An eventfd that wakes the loop (Stop, and answers from workers).
  int wake_fd = -1;
  const RouteTable* routes = nullptr;
  std::function<bool(std::string_view)> authorize;
  // nullptr: plain HTTP.
  TlsContext* tls = nullptr;
};

// Serves until `stop` is set (and wake_fd written), then finishes the answers under way for at
// most kStopGrace and closes everything.
void RunEventLoop(const EventLoopOptions& options, const std::atomic<bool>& stop);

}  // namespace server
