// The exporter's HTTP server: GET routes that return a whole body. cpp-httplib stays behind this
// interface so that the server can be hardened or replaced in one place. Handlers run on the
// server's worker threads, concurrently: they must be thread-safe. A handler's body is sent as it
// is; a handler that has a compressed form of its body says so in content_encoding.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace server {

struct Request {
  // The client's Accept-Encoding allows gzip (q > 0).
  bool accepts_gzip = false;
};

// A body written in pieces by its owner, whose length is known before it is sent.
struct StreamBody {
  size_t size = 0;
  // Calls its argument with consecutive pieces of the body; false stops it.
  std::function<bool(const std::function<bool(std::string_view)>&)> write;
};

struct Response {
  int status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  // The body, unless `stream` is set.
  std::string body;
  std::optional<StreamBody> stream;
  // "gzip" when the body is gzip-compressed.
  std::string content_encoding;
};

using Handler = std::function<Response(const Request&)>;

// Whether an Accept-Encoding header value allows gzip.
bool AcceptsGzip(std::string_view accept_encoding);

class HttpServer {
 public:
  HttpServer();
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Registers a handler for GET (and HEAD) of exactly `path`. Call before Bind.
  void Get(const std::string& path, Handler handler);

  // Binds host:port (port 0: any free port). Empty host: every interface. False and *error on
  // failure.
  bool Bind(const std::string& host, int port, std::string* error);

  // The bound port, after Bind.
  int port() const;

  // Serves until Stop. Call after a successful Bind.
  void Serve();

  // Makes Serve return; safe from any thread, and before Serve has started.
  void Stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace server
