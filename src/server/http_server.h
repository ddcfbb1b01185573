// The exporter's HTTP/1.1 server: GET (and HEAD) routes that return a whole body, and POST routes
// with a bounded body, over plain TCP or TLS, behind an optional authorizer. Two event-loop
// threads (Serve's and one more) read, parse and write every connection without blocking, so that
// a slow or hostile client costs a file descriptor and a few KiB, never a thread:
// - a request head (request line and headers) is at most 16 KiB and must arrive within 10 s of
//   its first byte; a POST body within 10 s of its head; a TLS handshake within 10 s;
// - a kept-alive connection is closed after 2 minutes without a request; a client that takes no
//   bytes of its answer for 10 s is disconnected;
// - at most 4096 connections (fewer when RLIMIT_NOFILE is lower); past that, the connection idle,
//   trickling its head or waiting for its password check for longest is closed to make room, or
//   the new one when none is.
// GET handlers run on the event loops and must be quick (they return an already rendered body).
// POST handlers run on a small pool of threads (HandlerPool). Authorization comes in two halves
// (Authorizer): a quick recall on the event loop, which answers a client whose credentials were
// let in before at once, and the slow check (bcrypt) on the threads of an AuthQueue, bounded and
// taken in turns per client address. Handlers run concurrently with each other: they must be
// thread-safe. A handler's body is sent as it is; a handler that has a compressed form of its
// body says so in content_encoding.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace server {

struct Request {
  // "GET", "HEAD" or "POST" (a route never sees another method: those get 405).
  std::string method;
  // The request target's path, without the query.
  std::string path;
  // The client's Accept-Encoding allows gzip (q > 0).
  bool accepts_gzip = false;
  // The client's Accept weighs OpenMetrics above the text format (server/accept.h).
  bool accepts_openmetrics = false;
  // POST: the body, at most the route's max_body_bytes.
  std::string body;
  // POST: the body was longer than the route's max_body_bytes (by Content-Length, or while a
  // chunked body was read). `body` is then empty, the rest of the body is not read, and the
  // connection is closed after the answer.
  bool body_too_large = false;
  // POST: when the whole request had arrived. A handler that shares one piece of work between
  // the requests that overlap it (a reload) tells by it which came before that work started:
  // POST handlers wait their turn on a few threads, so the time a handler runs says less.
  std::chrono::steady_clock::time_point received{};
};

// A body written in pieces by its owner, whose length is known before it is sent.
struct StreamBody {
  size_t size = 0;
  // Calls its argument with consecutive pieces of the body; false stops it. The pieces must stay
  // valid for as long as this StreamBody (and so what `write` holds) lives: the server sends them
  // from that memory, without a copy.
  std::function<bool(const std::function<bool(std::string_view)>&)> write;
  // Instead of `write`: called again and again as the connection can take more, from the start
  // of the body, to copy its next bytes into `buffer` (at most `capacity`); returns how many, 0
  // only at the end. An answer then holds one buffer of its body, never all of it.
  std::function<size_t(char* buffer, size_t capacity)> read;
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

struct TlsOptions {
  std::string cert_file;
  std::string key_file;
  // exporter-toolkit's client_auth_type: "" (= NoClientCert), "NoClientCert", "RequestClientCert",
  // "RequireAnyClientCert", "VerifyClientCertIfGiven", "RequireAndVerifyClientCert".
  std::string client_auth_type;
  std::string client_ca_file;
  // "TLS10", "TLS11", "TLS12", "TLS13"; empty min_version: TLS12; empty max_version: no maximum.
  std::string min_version;
  std::string max_version;
};

// Who may make requests. Both get the Authorization header's value ("" when absent).
struct Authorizer {
  // On the event loop, so it must be quick (no bcrypt): true or false when the answer is known at
  // once (credentials let in before, a header that cannot be valid), nullopt when `check` must
  // decide. May be empty.
  std::function<std::optional<bool>(std::string_view authorization)> recall;
  // The slow check, on an authorization thread; several may run at once. Empty: no authorization.
  std::function<bool(std::string_view authorization)> check;
};

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
  // with '/'. Other methods on a registered path get 405 (with Allow) without their body being
  // read, and the connection is closed; an unregistered path gets 404, and so does every path of
  // a route whose `exists` says false at the time of the request. Call before Bind.
  void Post(const std::string& path, size_t max_body_bytes, Handler handler,
            std::function<bool()> exists = nullptr);

  // Serves HTTPS only; a plain-HTTP request gets no answer but a closed connection (or a 400).
  // Loads and checks the files now: false and *error (naming the file, never its contents) when
  // they cannot be used. Call before Bind.
  bool EnableTls(const TlsOptions& options, std::string* error);

  // Every request, on every route (health endpoints included), must be authorized: a request the
  // authorizer refuses is answered 401 with `WWW-Authenticate: Basic realm="creatify-exporter"`
  // without calling the route (and without reading a POST body); one whose check cannot wait its
  // turn (too many waiting, for its client or in all) gets 429 or 503 with `Retry-After: 1`,
  // held for that second, and one whose check has not started within 10 s gets 503. Call before
  // Bind.
  // Requests whose path starts with one of `public_prefixes` skip it: routes that authenticate
  // their callers themselves (the webhook receiver's token), whose callers cannot send a password.
  void SetAuthorizer(Authorizer authorizer, std::vector<std::string> public_prefixes = {});
  // The same with only the slow check.
  void SetAuthorizer(std::function<bool(std::string_view authorization)> authorize,
                     std::vector<std::string> public_prefixes = {});

  // Replaces TLS (nullopt: plain HTTP) and the authorizer while the server runs: connections
  // accepted from then on get the new TLS, requests whose head is read from then on the new
  // authorizer; connections already open keep their TLS session. False and *error (naming the
  // file, never its contents) when the TLS files cannot be used: what runs stays. Thread-safe.
  bool Reconfigure(const std::optional<TlsOptions>& tls, Authorizer authorizer, std::string* error);

  // Binds host:port (port 0: any free port) and starts the server's threads (POST handlers,
  // password checks). Empty host: every interface. False and *error on failure ("cannot listen on
  // HOST:PORT: Address already in use" when another process has it: the port is never shared).
  bool Bind(const std::string& host, int port, std::string* error);

  // Also serves GET (and HEAD) of `paths` (routes registered before) on a Unix-domain socket at
  // `path`, mode 0660, in plain HTTP, to every client: no TLS, no authorizer, whatever
  // EnableTls, SetAuthorizer and Reconfigure say; every other path gets 404 there. A socket file
  // left by a previous run is replaced; the file is removed when Serve returns. False and *error
  // ("cannot listen on PATH: ...") when the path is not a socket, another process listens on it,
  // or it cannot be made. Call after the routes are registered, before Serve.
  bool BindLocal(const std::string& path, const std::vector<std::string>& paths,
                 std::string* error);

  // The bound port, after Bind.
  int port() const;
  // While Serve runs: the connections each event loop holds (tests).
  std::vector<size_t> ConnectionsPerLoop() const;
  // Password checks waiting for a thread (not running), after Bind; thread-safe.
  size_t auth_checks_waiting() const;

  // Serves until Stop, on the calling thread and one more. Call after a successful Bind.
  void Serve();

  // Makes Serve stop accepting, finish the answers under way for at most 2 s, close every
  // connection and return, whatever the clients do. Returns at once; safe from any thread, and
  // before Serve has started (Serve then returns at once).
  void Stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace server
