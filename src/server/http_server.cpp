#include "server/http_server.h"

#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <csignal>
#include <cstring>
#include <iterator>
#include <system_error>
#include <thread>
#include <vector>

#include "server/auth_queue.h"
#include "server/event_loop.h"
#include "server/handler_pool.h"
#include "server/local_socket.h"
#include "server/route_table.h"
#include "server/security.h"
#include "server/tls.h"

namespace server {

namespace {

// Event loops, each on a thread of its own: two share the work of a two-core machine, and keep
// serving while one copies a large body.
constexpr int kLoops = 2;
// Threads for POST handlers: a reload and a webhook call at once.
constexpr int kHandlerThreads = 2;

}  // namespace

struct HttpServer::Impl {
  RouteTable routes;
  SecuritySlot security;
  std::vector<std::string> public_prefixes;
  // Started by Bind; used by the loops, which end before these are destroyed.
  std::unique_ptr<HandlerPool> handlers;
  std::unique_ptr<AuthQueue> auth_queue;
  int listen_fd = -1;
  // One per loop.
  int wake_fds[kLoops] = {-1, -1};
  int port = 0;
  // The health socket (BindLocal): -1 without one.
  int local_fd = -1;
  std::string local_path;
  RouteTable local_routes;
  std::atomic<bool> stop_requested{false};
  // The loops' balancer while Serve runs.
  std::atomic<Balancer*> balancer{nullptr};
};

HttpServer::HttpServer() : impl_(std::make_unique<Impl>()) {
  for (int& fd : impl_->wake_fds) fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
}

HttpServer::~HttpServer() {
  Stop();
  if (impl_->listen_fd >= 0) close(impl_->listen_fd);
  CloseLocal(impl_->local_fd, impl_->local_path);
  for (int fd : impl_->wake_fds) {
    if (fd >= 0) close(fd);
  }
}

void HttpServer::Get(const std::string& path, Handler handler) {
  impl_->routes.AddGet(path, std::move(handler));
}

void HttpServer::Post(const std::string& path, size_t max_body_bytes, Handler handler,
                      std::function<bool()> exists) {
  impl_->routes.AddPost(path, max_body_bytes, std::move(handler), std::move(exists));
}

bool HttpServer::EnableTls(const TlsOptions& options, std::string* error) {
  std::shared_ptr<TlsContext> tls = TlsContext::Create(options, error);
  if (!tls) return false;
  auto security = std::make_shared<Security>(*impl_->security.Get());
  security->tls = std::move(tls);
  impl_->security.Set(std::move(security));
  return true;
}

void HttpServer::SetAuthorizer(Authorizer authorizer, std::vector<std::string> public_prefixes) {
  auto security = std::make_shared<Security>(*impl_->security.Get());
  security->authorizer = std::move(authorizer);
  impl_->security.Set(std::move(security));
  impl_->public_prefixes = std::move(public_prefixes);
}

void HttpServer::SetAuthorizer(std::function<bool(std::string_view authorization)> authorize,
                               std::vector<std::string> public_prefixes) {
  SetAuthorizer(Authorizer{.check = std::move(authorize)}, std::move(public_prefixes));
}

bool HttpServer::Reconfigure(const std::optional<TlsOptions>& tls, Authorizer authorizer,
                             std::string* error) {
  auto security = std::make_shared<Security>();
  if (tls) {
    security->tls = TlsContext::Create(*tls, error);
    if (!security->tls) return false;
  }
  security->authorizer = std::move(authorizer);
  impl_->security.Set(std::move(security));
  return true;
}

namespace {

// A listening socket on the first address `host` resolves to; -1 and errno's message otherwise.
int Listen(const std::string& host, int port, std::string* reason) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  addrinfo* addresses = nullptr;
  int resolved = getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &addresses);
  if (resolved != 0) {
    *reason = gai_strerror(resolved);
    return -1;
  }
  int fd = -1;
  for (addrinfo* address = addresses; address != nullptr; address = address->ai_next) {
    fd = socket(address->ai_family, address->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
                address->ai_protocol);
    if (fd < 0) {
      *reason = std::strerror(errno);
      continue;
    }
    // SO_REUSEADDR for quick restarts; never SO_REUSEPORT, which would let a second exporter
    // bind the same port and silently take half the scrapes.
    int yes = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
    if (bind(fd, address->ai_addr, address->ai_addrlen) == 0 && listen(fd, SOMAXCONN) == 0) break;
    *reason = std::strerror(errno);
    close(fd);
    fd = -1;
  }
  freeaddrinfo(addresses);
  return fd;
}

}  // namespace

bool HttpServer::Bind(const std::string& host, int port, std::string* error) {
  const std::string bind_host = host.empty() ? "0.0.0.0" : host;
  std::string reason = "cannot create an event notifier";
  bool notifiers = std::all_of(std::begin(impl_->wake_fds), std::end(impl_->wake_fds),
                               [](int fd) { return fd >= 0; });
  int fd = notifiers ? Listen(bind_host, port, &reason) : -1;
  if (fd < 0) {
    *error = "cannot listen on " + bind_host + ":" + std::to_string(port) + ": " + reason;
    return false;
  }
  try {
    if (!impl_->handlers) impl_->handlers = std::make_unique<HandlerPool>(kHandlerThreads);
    if (!impl_->auth_queue) impl_->auth_queue = std::make_unique<AuthQueue>(AuthQueue::Limits{});
  } catch (const std::system_error& e) {
    close(fd);
    *error = std::string("cannot start the server's threads: ") + e.what();
    return false;
  }
  sockaddr_storage address{};
  socklen_t length = sizeof(address);
  getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length);
  impl_->port =
      ntohs(address.ss_family == AF_INET6 ? reinterpret_cast<sockaddr_in6*>(&address)->sin6_port
                                          : reinterpret_cast<sockaddr_in*>(&address)->sin_port);
  if (impl_->listen_fd >= 0) close(impl_->listen_fd);
  impl_->listen_fd = fd;
  return true;
}

bool HttpServer::BindLocal(const std::string& path, const std::vector<std::string>& paths,
                           std::string* error) {
  int fd = ListenLocal(path, error);
  if (fd < 0) return false;
  CloseLocal(impl_->local_fd, impl_->local_path);
  impl_->local_fd = fd;
  impl_->local_path = path;
  impl_->local_routes = LocalRoutes(impl_->routes, paths);
  return true;
}

int HttpServer::port() const { return impl_->port; }

std::vector<size_t> HttpServer::ConnectionsPerLoop() const {
  Balancer* balancer = impl_->balancer.load();
  return balancer != nullptr ? balancer->Counts() : std::vector<size_t>();
}

size_t HttpServer::auth_checks_waiting() const {
  return impl_->auth_queue ? impl_->auth_queue->waiting() : 0;
}

void HttpServer::Serve() {
  if (impl_->stop_requested.load() || impl_->listen_fd < 0) return;
  // TLS writes go through OpenSSL's write(): a client gone away must not raise SIGPIPE. The
  // loops' threads inherit the mask.
  sigset_t pipe;
  sigemptyset(&pipe);
  sigaddset(&pipe, SIGPIPE);
  pthread_sigmask(SIG_BLOCK, &pipe, nullptr);
  size_t limit = ConnectionLimit();
  Balancer balancer(std::vector<int>(std::begin(impl_->wake_fds), std::end(impl_->wake_fds)));
  impl_->balancer.store(&balancer);
  auto options = [&](int loop) {
    return EventLoopOptions{
        .listen_fd = impl_->listen_fd,
        .wake_fd = impl_->wake_fds[loop],
        .max_connections = limit / kLoops,
        .routes = &impl_->routes,
        .security = &impl_->security,
        .public_prefixes = impl_->public_prefixes,
        .handlers = impl_->handlers.get(),
        .auth_queue = impl_->auth_queue.get(),
        .balancer = &balancer,
        .loop = static_cast<size_t>(loop),
    };
  };
  std::vector<std::thread> others;
  for (int loop = 1; loop < kLoops; ++loop) {
    try {
      others.emplace_back(
          [this, options = options(loop)] { RunEventLoop(options, impl_->stop_requested); });
    } catch (const std::system_error&) {
      // Fewer loops: the ones running serve everything.
    }
  }
  EventLoopOptions first = options(0);
  // One loop is enough for the health socket's few connections.
  first.local_fd = impl_->local_fd;
  first.local_routes = &impl_->local_routes;
  // With fewer loops, the first takes the whole limit.
  first.max_connections = limit - first.max_connections * others.size();
  RunEventLoop(first, impl_->stop_requested);
  for (auto& thread : others) thread.join();
  impl_->balancer.store(nullptr);
  close(impl_->listen_fd);
  impl_->listen_fd = -1;
  CloseLocal(impl_->local_fd, impl_->local_path);
  impl_->local_fd = -1;
}

void HttpServer::Stop() {
  impl_->stop_requested.store(true);
  uint64_t one = 1;
  for (int fd : impl_->wake_fds) {
    if (fd >= 0) [[maybe_unused]]
      ssize_t n = write(fd, &one, sizeof(one));
  }
}

}  // namespace server
