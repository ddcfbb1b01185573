// The server's TLS configuration (OpenSSL), and TLS transports over accepted sockets. Created
// once before serving; NewTransport is then called from the event loop only.
#pragma once

#include <memory>
#include <string>

#include "server/http_server.h"
#include "server/transport.h"

namespace server {

class TlsContext {
 public:
  // Loads and checks the certificate, key and client CA files; nullptr and *error (naming the
  // file or the option, never a file's contents) when they cannot be used.
  static std::unique_ptr<TlsContext> Create(const TlsOptions& options, std::string* error);
  ~TlsContext();
  TlsContext(const TlsContext&) = delete;
  TlsContext& operator=(const TlsContext&) = delete;

  // A TLS server transport over `fd`, which stays owned by the caller; nullptr when OpenSSL
  // cannot make one (out of memory).
  std::unique_ptr<Transport> NewTransport(int fd);

 private:
  struct Impl;
  explicit TlsContext(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace server
