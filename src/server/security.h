// What guards the server's connections at a given moment (TLS, and who may make requests), held so
// that the web config can be replaced while the server runs: a connection takes the TLS of the
// moment it is accepted, a request the authorizer of the moment its head is read. Thread-safe.
#pragma once

#include <memory>
#include <mutex>
#include <utility>

#include "server/http_server.h"
#include "server/tls.h"

namespace server {

struct Security {
  // Null: plain HTTP.
  std::shared_ptr<TlsContext> tls;
  // An empty `check`: every request is let through.
  Authorizer authorizer;
};

class SecuritySlot {
 public:
  SecuritySlot() : current_(std::make_shared<const Security>()) {}

  std::shared_ptr<const Security> Get() const {
    std::lock_guard lock(mutex_);
    return current_;
  }

  void Set(std::shared_ptr<const Security> security) {
    std::lock_guard lock(mutex_);
    current_ = std::move(security);
  }

 private:
  mutable std::mutex mutex_;
  std::shared_ptr<const Security> current_;  // guarded by mutex_, never null
};

}  // namespace server
