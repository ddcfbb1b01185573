// The exporter's HTTP server: GET routes that return a whole body. cpp-httplib stays behind this
// interface so that the server can be hardened or replaced in one place. Handlers run on the
// server's worker threads, concurrently: they must be thread-safe. Responses whose content type
// is text/* are compressed when the client asks for gzip.
#pragma once

#include <functional>
#include <memory>
#include <string>

namespace server {

struct Response {
  int status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
};

using Handler = std::function<Response()>;

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
