// One HTTP connection to the Creatify API, with its credentials. Not thread-safe: give each
// worker thread its own Client. Never throws; every outcome is a Response.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace creatify {

struct ClientOptions {
  // "https://api.creatify.ai" or "http://host:port", optionally with a path prefix
  // ("http://proxy/creatify") that is put before every request path; see ParseBaseUrl in
  // creatify/base_url.h. A URL it refuses fails every request.
  std::string base_url;
  std::string api_id;
  std::string api_key;
  // Connect, read and write timeout, each.
  std::chrono::milliseconds timeout{10000};
  std::string user_agent;
  // The largest body read; a larger one is refused as soon as it is known to be larger (from
  // its Content-Length, or while it is read), with code "error".
  std::size_t max_body_bytes = std::size_t{64} << 20;
  // A PEM bundle of the CAs that may sign an https base_url's certificate; empty: the system's.
  std::string ca_file;
};

struct Response {
  // HTTP status, or 0 when no HTTP answer came back.
  int status = 0;
  // The `code` label: "200", "429", ... or an error class when status == 0:
  // "timeout", "connect", "tls", "read", "write", "error".
  std::string code;
  std::string body;
  // Seconds from the response's Retry-After header (delta-seconds or HTTP date), if it has one;
  // servers send it mostly with 429 and 503.
  std::optional<double> retry_after_seconds;
  // Wall time of the request.
  double seconds = 0;
  // For logs when status == 0, e.g. "Connection timed out". Never contains credentials.
  std::string error;
};

class Client {
 public:
  explicit Client(ClientOptions options);
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  // GET base_url's prefix + path_and_query, with X-API-ID, X-API-KEY and Accept: application/json.
  Response Get(const std::string& path_and_query);

  // Aborts the request in flight, if any, even one still connecting, so that shut-down does not
  // wait for its timeout; every later Get fails at once with code "error" (the cancel is final,
  // so one that comes just before a request starts is not lost). The one thread-safe method:
  // call it from any thread while Get runs on another.
  void Cancel();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Seconds to wait from a Retry-After value: delta-seconds ("120") or an HTTP-date (IMF-fixdate,
// RFC 850 or asctime form) taken relative to `now`, never negative. nullopt when it is neither.
std::optional<double> ParseRetryAfter(std::string_view value,
                                      std::chrono::system_clock::time_point now);

}  // namespace creatify
