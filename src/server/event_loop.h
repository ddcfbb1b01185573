// The server's event loops: each accepts connections on the shared listening socket and drives
// its own with epoll until told to stop; with a Balancer, a connection accepted by the loop that
// holds more goes to the one that holds fewer. A loop runs on one thread; only its wake_fd is
// written from others.
#pragma once

#include <atomic>
#include <cstddef>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "server/auth_queue.h"
#include "server/balancer.h"
#include "server/handler_pool.h"
#include "server/route_table.h"
#include "server/security.h"

namespace server {

struct EventLoopOptions {
  // Non-blocking listening socket, shared by the loops (and closed by their owner).
  int listen_fd = -1;
  // An eventfd of this loop's own, that wakes it (Stop, and answers from its workers).
  int wake_fd = -1;
  // This loop's share of the connection limit.
  size_t max_connections = 0;
  const RouteTable* routes = nullptr;
  // TLS and the authorizer, as they are at each accept and each request.
  const SecuritySlot* security = nullptr;
  // Paths under these skip the authorizer.
  std::vector<std::string> public_prefixes;
  // Shared by the loops; they outlive the loops.
  HandlerPool* handlers = nullptr;
  AuthQueue* auth_queue = nullptr;
  // The health socket's listening socket (ListenLocal), or -1; its connections are routed to
  // local_routes only, without TLS or authorizer (LocalContext).
  int local_fd = -1;
  const RouteTable* local_routes = nullptr;
  // Shared by the loops (null: each serves what it accepts); `loop` is this loop's slot in it.
  Balancer* balancer = nullptr;
  size_t loop = 0;
};

// Connections the process can hold: 4096, or fewer when file descriptors are short (some are kept
// for the rest of the process: the state file, the API client, logs).
size_t ConnectionLimit();

// Serves until `stop` is set (and wake_fd written), then finishes the answers under way for at
// most 2 s and closes its connections.
void RunEventLoop(const EventLoopOptions& options, const std::atomic<bool>& stop);

}  // namespace server
