#include "server/http_server.h"

#include <httplib.h>
#include <strings.h>
#include <sys/socket.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <thread>

namespace server {

struct HttpServer::Impl {
  httplib::Server server;
  int port = 0;
  std::atomic<bool> stop_requested{false};
  // True from the start of Serve until it returns.
  std::atomic<bool> serving{false};
};

bool AcceptsGzip(std::string_view header) {
  while (!header.empty()) {
    size_t comma = header.find(',');
    std::string_view item = header.substr(0, comma);
    header = comma == std::string_view::npos ? std::string_view() : header.substr(comma + 1);
    size_t semicolon = item.find(';');
    std::string_view coding = item.substr(0, semicolon);
    auto trim = [](std::string_view text) {
      while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
      while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
      return text;
    };
    coding = trim(coding);
    if (coding.size() != 4 || strncasecmp(coding.data(), "gzip", 4) != 0) continue;
    if (semicolon == std::string_view::npos) return true;
    std::string_view params = trim(item.substr(semicolon + 1));
    if (params.size() >= 2 && (params[0] == 'q' || params[0] == 'Q') && params[1] == '=') {
      std::string_view q = trim(params.substr(2));
      // q=0, q=0.0, q=0.000: refused.
      return q.find_first_not_of("0.") != std::string_view::npos;
    }
    return true;
  }
  return false;
}

HttpServer::HttpServer() : impl_(std::make_unique<Impl>()) {
  // Slow or idle clients must not pin worker threads for long.
  impl_->server.set_read_timeout(std::chrono::seconds(10));
  impl_->server.set_write_timeout(std::chrono::seconds(10));
  impl_->server.set_keep_alive_timeout(5);
  // httplib closes a kept-alive connection after 5 requests by default: a scraper would pay a
  // new connection every fifth scrape. A connection holds a worker while it lives; an idle one
  // is closed after the keep-alive timeout.
  impl_->server.set_keep_alive_max_count(10000);
  // One worker per open connection: enough for several scrapers and people at once.
  impl_->server.new_task_queue = [] { return new httplib::ThreadPool(32); };
  // Headers and body go out in separate writes: do not let Nagle's algorithm hold the body.
  impl_->server.set_tcp_nodelay(true);
  impl_->server.set_payload_max_length(1 << 20);
  // httplib's default sets SO_REUSEPORT, which lets a second exporter bind the same port and
  // silently take half the scrapes. Plain SO_REUSEADDR still allows quick restarts.
  impl_->server.set_socket_options([](int sock) {
    int yes = 1;
    setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
  });
  impl_->server.set_error_handler([](const httplib::Request&, httplib::Response& res) {
    if (res.body.empty() && !res.content_provider_) {
      res.set_content(res.status == 404 ? "Not Found\n" : "Error\n", "text/plain; charset=utf-8");
    }
  });
  impl_->server.set_exception_handler(
      [](const httplib::Request&, httplib::Response& res, std::exception_ptr) {
        res.status = 500;
        res.set_content("Internal Server Error\n", "text/plain; charset=utf-8");
      });
}

HttpServer::~HttpServer() { Stop(); }

namespace {

// httplib treats a pattern as a regular expression: match the path literally.
std::string LiteralPattern(const std::string& path) {
  std::string pattern;
  for (char c : path) {
    if (std::string_view("\\^$.|?*+()[]{}").find(c) != std::string_view::npos) pattern += '\\';
    pattern += c;
  }
  return pattern;
}

void SendResponse(Response response, httplib::Response& res) {
  res.status = response.status;
  // A body httplib would compress by itself is only ever one we compressed already: stream
  // every body through a content provider, which httplib sends as it is.
  if (!response.content_encoding.empty()) {
    res.set_header("Content-Encoding", response.content_encoding);
  }
  res.set_header("Vary", "Accept-Encoding");
  if (!response.stream) {
    auto body = std::make_shared<std::string>(std::move(response.body));
    response.stream = StreamBody{
        .size = body->size(), .write = [body](const std::function<bool(std::string_view)>& write) {
          return write(*body);
        }};
  }
  if (response.stream->size == 0) {
    res.set_content("", response.content_type.c_str());
    return;
  }
  res.set_content_provider(
      response.stream->size, response.content_type.c_str(),
      [stream = std::move(*response.stream)](size_t offset, size_t, httplib::DataSink& sink) {
        // The whole body goes out in one call; httplib calls again only if it did not.
        if (offset != 0) return false;
        return stream.write([&sink](std::string_view piece) {
          return sink.is_writable() && sink.write(piece.data(), piece.size());
        });
      });
}

}  // namespace

void HttpServer::Get(const std::string& path, Handler handler) {
  impl_->server.Get(LiteralPattern(path), [handler = std::move(handler)](
                                              const httplib::Request& req, httplib::Response& res) {
    Request request;
    request.method = req.method;
    request.path = req.path;
    request.accepts_gzip = AcceptsGzip(req.get_header_value("Accept-Encoding"));
    SendResponse(handler(request), res);
  });
}

void HttpServer::Post(const std::string& path, size_t max_body_bytes, Handler handler) {
  std::string pattern = LiteralPattern(path);
  if (!path.empty() && path.back() == '/') pattern += "[^?#]*";
  impl_->server.Post(pattern, [handler = std::move(handler), max_body_bytes](
                                  const httplib::Request& req, httplib::Response& res,
                                  const httplib::ContentReader& content_reader) {
    Request request;
    request.method = req.method;
    request.path = req.path;
    request.accepts_gzip = AcceptsGzip(req.get_header_value("Accept-Encoding"));
    content_reader([&request, max_body_bytes](const char* data, size_t length) {
      if (request.body.size() + length > max_body_bytes) {
        request.body_too_large = true;
        request.body.clear();
        return false;
      }
      request.body.append(data, length);
      return true;
    });
    if (request.body_too_large) res.set_header("Connection", "close");
    SendResponse(handler(request), res);
  });
}

bool HttpServer::Bind(const std::string& host, int port, std::string* error) {
  const std::string bind_host = host.empty() ? "0.0.0.0" : host;
  if (port == 0) {
    impl_->port = impl_->server.bind_to_any_port(bind_host.c_str());
  } else {
    impl_->port = impl_->server.bind_to_port(bind_host.c_str(), port) ? port : -1;
  }
  if (impl_->port <= 0) {
    *error =
        "cannot listen on " + bind_host + ":" + std::to_string(port) + ": " + std::strerror(errno);
    return false;
  }
  return true;
}

int HttpServer::port() const { return impl_->port; }

void HttpServer::Serve() {
  impl_->serving.store(true);
  if (!impl_->stop_requested.load()) impl_->server.listen_after_bind();
  impl_->serving.store(false);
}

void HttpServer::Stop() {
  impl_->stop_requested.store(true);
  // httplib's stop() does nothing until its accept loop has started: repeat it until Serve has
  // returned, so that a stop right after start-up cannot be lost.
  while (impl_->serving.load()) {
    impl_->server.stop();
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
}

}  // namespace server
