// The exporter's HTTP server: GET (and HEAD) routes that return a whole body, and POST routes
// with a bounded body. cpp-httplib stays behind this interface so that the server can be hardened
// or replaced in one place. Handlers run on the
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
  // "GET", "HEAD" or "POST" (a route never sees another method: those get 405).
  std::string method;
  // The request target's path, without the query.
  std::string path;
  // The client's Accept-Encoding allows gzip (q > 0).
  bool accepts_gzip = false;
  // POST: the body, at most the route's max_body_bytes.
  std::string body;
  // POST: the body was longer than the route's max_body_bytes (by Content-Length, or while a
  // chunked body was read). `body` is then empty, the rest of the body is not read, and the
  // connection is closed after the answer.
  bool body_too_large = false;
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

  // Registers a handler for POST of exactly `path`, or of every path under it when `path` ends
  // with '/'. Other methods on a registered path get 405 without their body being read; an
  // unregistered path gets 404. Call before Bind.
  void Post(const std::string& path, size_t max_body_bytes, Handler handler);

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
