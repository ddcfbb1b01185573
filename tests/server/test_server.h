// A server with test routes on a free loopback port, served from a thread for the test's
// lifetime: /metrics (a large shared body), /-/healthy, /boom (throws), and the POST routes
// /-/reload and /hooks/ (1 KiB bodies) that record what they were given.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "server/http_server.h"

namespace testserver {

inline constexpr size_t kPostLimit = 1024;

struct TestServer {
  server::HttpServer http;
  std::shared_ptr<const std::string> metrics;
  std::thread thread;
  std::atomic<int> get_calls{0};
  std::mutex mutex;
  std::vector<server::Request> posts;  // guarded by mutex

  // `setup` runs before Bind (TLS, an authorizer); the server is then up, but not yet checked to
  // answer (a TLS or authorized server needs the test's client for that).
  explicit TestServer(size_t metrics_bytes = 64 * 1024,
                      const std::function<void(server::HttpServer&)>& setup = {});
  ~TestServer();
  int port() const { return http.port(); }
  std::vector<server::Request> Posts();
};

}  // namespace testserver
