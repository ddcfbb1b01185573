#include "server/test_server.h"

#include <doctest/doctest.h>

#include <stdexcept>

namespace testserver {

TestServer::TestServer(size_t metrics_bytes,
                       const std::function<void(server::HttpServer&)>& setup) {
  std::string body;
  body.reserve(metrics_bytes);
  for (size_t i = 0; body.size() < metrics_bytes; ++i) {
    body += "creatify_test_sample{n=\"" + std::to_string(i) + "\"} 1\n";
  }
  body.resize(metrics_bytes);
  metrics = std::make_shared<const std::string>(std::move(body));
  http.Get("/metrics", [this](const server::Request&) {
    ++get_calls;
    server::Response response;
    response.stream = server::StreamBody{
        .size = metrics->size(),
        .write = [body = metrics](const std::function<bool(std::string_view)>& write) {
          return write(*body);
        }};
    return response;
  });
  http.Get("/-/healthy", [this](const server::Request&) {
    ++get_calls;
    return server::Response{.body = "Healthy\n"};
  });
  http.Get("/boom", [](const server::Request&) -> server::Response {
    throw std::runtime_error("cannot open /etc/creatify-exporter/secret.yaml");
  });
  auto record = [this](const server::Request& request) {
    std::lock_guard lock(mutex);
    posts.push_back(request);
    return server::Response{.status = request.body_too_large ? 413 : 200,
                            .body = "got " + std::to_string(request.body.size()) + "\n"};
  };
  http.Post("/-/reload", kPostLimit, record);
  http.Post("/hooks/", kPostLimit, record);
  if (setup) setup(http);
  std::string error;
  REQUIRE_MESSAGE(http.Bind("127.0.0.1", 0, &error), error);
  thread = std::thread([this] { http.Serve(); });
}

TestServer::~TestServer() {
  http.Stop();
  thread.join();
}

std::vector<server::Request> TestServer::Posts() {
  std::lock_guard lock(mutex);
  return posts;
}

}  // namespace testserver
