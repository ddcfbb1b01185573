#include "server/http_server.h"

#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <csignal>
#include <cstring>

#include "server/event_loop.h"
#include "server/route_table.h"
#include "server/tls.h"

namespace server {

struct HttpServer::Impl {
  RouteTable routes;
  std::function<bool(std::string_view)> authorize;
  std::unique_ptr<TlsContext> tls;
  int listen_fd = -1;
  int wake_fd = -1;
  int port = 0;
  std::atomic<bool> stop_requested{false};
};

HttpServer::HttpServer() : impl_(std::make_unique<Impl>()) {
  impl_->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
}

HttpServer::~HttpServer() {
  Stop();
  if (impl_->listen_fd >= 0) close(impl_->listen_fd);
  if (impl_->wake_fd >= 0) close(impl_->wake_fd);
}

void HttpServer::Get(const std::string& path, Handler handler) {
  impl_->routes.AddGet(path, std::move(handler));
}

void HttpServer::Post(const std::string& path, size_t max_body_bytes, Handler handler) {
  impl_->routes.AddPost(path, max_body_bytes, std::move(handler));
}

bool HttpServer::EnableTls(const TlsOptions& options, std::string* error) {
  impl_->tls = TlsContext::Create(options, error);
  return impl_->tls != nullptr;
}

void HttpServer::SetAuthorizer(std::function<bool(std::string_view authorization)> authorize) {
  impl_->authorize = std::move(authorize);
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
  int fd = impl_->wake_fd >= 0 ? Listen(bind_host, port, &reason) : -1;
  if (fd < 0) {
    *error = "cannot listen on " + bind_host + ":" + std::to_string(port) + ": " + reason;
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

int HttpServer::port() const { return impl_->port; }

void HttpServer::Serve() {
  if (impl_->stop_requested.load() || impl_->listen_fd < 0) return;
  // TLS writes go through OpenSSL's write(): a client gone away must not raise SIGPIPE.
  sigset_t pipe;
  sigemptyset(&pipe);
  sigaddset(&pipe, SIGPIPE);
  pthread_sigmask(SIG_BLOCK, &pipe, nullptr);
  EventLoopOptions options{
      .listen_fd = impl_->listen_fd,
      .wake_fd = impl_->wake_fd,
      .routes = &impl_->routes,
      .authorize = impl_->authorize,
      .tls = impl_->tls.get(),
  };
  // The loop closes the listening socket when it stops accepting.
  impl_->listen_fd = -1;
  RunEventLoop(options, impl_->stop_requested);
}

void HttpServer::Stop() {
  impl_->stop_requested.store(true);
  uint64_t one = 1;
  if (impl_->wake_fd >= 0) [[maybe_unused]]
    ssize_t n = write(impl_->wake_fd, &one, sizeof(one));
}

}  // namespace server
