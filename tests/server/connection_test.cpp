// A connection against a client that takes every byte at once: it writes one turn
// (kWriteTurnBytes) of a large answer per Drive and says it yielded, so that the event loop
// can serve the others before it goes on; the answer still arrives whole.
#include "server/connection.h"

#include <doctest/doctest.h>
#include <fcntl.h>

#include <memory>
#include <string>

#include "server/route_table.h"

namespace {

// Hands out one request, then nothing; takes every byte written to it.
class EagerClient : public server::Transport {
 public:
  explicit EagerClient(std::string* received) : received_(received) {}
  server::IoStatus Handshake() override { return server::IoStatus::kOk; }
  server::IoResult Read(char* buffer, size_t size) override {
    if (request_.empty()) return {server::IoStatus::kWouldBlock, 0};
    const size_t n = std::min(size, request_.size());
    request_.copy(buffer, n);
    request_.erase(0, n);
    return {server::IoStatus::kOk, n};
  }
  server::IoResult Write(const iovec* pieces, int count) override {
    size_t bytes = 0;
    for (int i = 0; i < count; ++i) {
      received_->append(static_cast<const char*>(pieces[i].iov_base), pieces[i].iov_len);
      bytes += pieces[i].iov_len;
    }
    return {server::IoStatus::kOk, bytes};
  }

 private:
  std::string request_ = "GET /big HTTP/1.1\r\nHost: localhost\r\n\r\n";
  std::string* received_;
};

TEST_CASE("a large answer to a client that takes it all is written a turn at a time") {
  const std::string body(10 * server::kWriteTurnBytes + 123, 'x');
  server::RouteTable routes;
  routes.AddGet("/big", [&body](const server::Request&) { return server::Response{.body = body}; });
  std::string read_buffer(64 * 1024, '\0');
  server::ServerContext context;
  context.routes = &routes;
  context.read_buffer = read_buffer.data();
  context.read_buffer_size = read_buffer.size();

  std::string received;
  const int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
  REQUIRE(fd >= 0);
  server::Connection connection(2, fd, std::make_unique<EagerClient>(&received), context,
                                server::Clock::now());
  int turns = 0;
  size_t before = 0;
  do {
    REQUIRE(connection.Drive(server::Clock::now()));
    ++turns;
    CHECK(received.size() - before <= server::kWriteTurnBytes);
    before = received.size();
    REQUIRE(turns < 100);
  } while (connection.yielded());
  // The body and its head: 11 turns, the last one short.
  CHECK(turns == 11);
  const size_t head_end = received.find("\r\n\r\n");
  REQUIRE(head_end != std::string::npos);
  CHECK(received.substr(head_end + 4) == body);
  CHECK(received.find("Content-Length: " + std::to_string(body.size())) != std::string::npos);
}

}  // namespace
