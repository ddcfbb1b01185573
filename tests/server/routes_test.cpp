#include "server/routes.h"

#include <doctest/doctest.h>

#include <thread>

#include "support/gunzip.h"
#include "support/metrics.h"
#include "support/process.h"

namespace {

// The exporter's routes on a free loopback port, served from a thread for the test's lifetime.
struct RunningServer {
  state::Store store{{"aurora"}, 0};
  collect::Publisher publisher{collect::RenderOptions{.version = "9.9.9", .revision = "abc"}};
  server::HttpServer http;
  std::thread thread;

  explicit RunningServer(const std::string& telemetry_path = "/metrics") {
    store.OnPublish([this](const auto& snapshot) { publisher.Publish(snapshot); });
    server::AddRoutes(http,
                      {.telemetry_path = telemetry_path, .version = "9.9.9", .revision = "abc"},
                      store, publisher);
    std::string error;
    REQUIRE(http.Bind("127.0.0.1", 0, &error));
    thread = std::thread([this] { http.Serve(); });
    REQUIRE(testsupport::WaitFor(
        [&] { return testsupport::HttpGet(http.port(), "/-/healthy").status == 200; },
        std::chrono::seconds(5)));
  }
  ~RunningServer() {
    http.Stop();
    thread.join();
  }
};

}  // namespace

TEST_CASE("/metrics is the text format 0.0.4, gzip-compressed when asked") {
  RunningServer server;
  auto plain = testsupport::HttpGet(server.http.port(), "/metrics");
  CHECK(plain.status == 200);
  CHECK(plain.Header("Content-Type") == "text/plain; version=0.0.4; charset=utf-8");
  CHECK(plain.Header("Content-Encoding").empty());
  auto exposition = testsupport::ParseExposition(plain.body);
  CHECK(exposition.Value("creatify_up") == 0);
  CHECK(exposition.Value("creatify_exporter_build_info",
                         {{"version", "9.9.9"}, {"revision", "abc"}}) == 1);

  auto gzipped =
      testsupport::HttpGet(server.http.port(), "/metrics", {{"Accept-Encoding", "gzip"}});
  CHECK(gzipped.status == 200);
  CHECK(gzipped.Header("Content-Encoding") == "gzip");
  REQUIRE(gzipped.body.size() > 2);
  CHECK(static_cast<unsigned char>(gzipped.body[0]) == 0x1f);
  CHECK(static_cast<unsigned char>(gzipped.body[1]) == 0x8b);
  CHECK(gzipped.body.size() < plain.body.size());
  CHECK(testsupport::Gunzip(gzipped.body) == plain.body);

  auto refused =
      testsupport::HttpGet(server.http.port(), "/metrics", {{"Accept-Encoding", "gzip;q=0"}});
  CHECK(refused.Header("Content-Encoding").empty());
  CHECK(refused.body == plain.body);
}

TEST_CASE("/metrics serves what the store published last") {
  RunningServer server;
  auto before =
      testsupport::ParseExposition(testsupport::HttpGet(server.http.port(), "/metrics").body);
  CHECK(before.Value("creatify_up") == 0);
  state::PollCycle cycle;
  cycle.up = true;
  cycle.remaining_credits = 42;
  server.store.Apply(cycle);
  auto after =
      testsupport::ParseExposition(testsupport::HttpGet(server.http.port(), "/metrics").body);
  CHECK(after.Value("creatify_up") == 1);
  CHECK(after.Value("creatify_remaining_credits") == 42);
}

TEST_CASE("Accept-Encoding: gzip is recognised the way HTTP defines it") {
  CHECK(server::AcceptsGzip("gzip"));
  CHECK(server::AcceptsGzip("deflate, GZIP;q=0.5"));
  CHECK(server::AcceptsGzip("br, gzip ; q=1"));
  CHECK_FALSE(server::AcceptsGzip(""));
  CHECK_FALSE(server::AcceptsGzip("gzip;q=0"));
  CHECK_FALSE(server::AcceptsGzip("gzip;q=0.000"));
  CHECK_FALSE(server::AcceptsGzip("x-gzip, identity"));
}

TEST_CASE("/-/ready turns 200 once the first poll was attempted, /-/healthy always is") {
  RunningServer server;
  CHECK(testsupport::HttpGet(server.http.port(), "/-/ready").status == 503);
  state::PollCycle failed;
  failed.up = false;
  server.store.Apply(failed);
  CHECK(testsupport::HttpGet(server.http.port(), "/-/ready").status == 200);
  CHECK(testsupport::HttpGet(server.http.port(), "/-/healthy").body == "Healthy\n");
}

TEST_CASE("the landing page names the exporter, its version and its endpoints") {
  RunningServer server("/custom/metrics");
  auto page = testsupport::HttpGet(server.http.port(), "/");
  CHECK(page.status == 200);
  CHECK(page.Header("Content-Type") == "text/html; charset=utf-8");
  for (const char* text : {"creatify-exporter", "9.9.9", "href=\"/custom/metrics\"",
                           "href=\"/-/healthy\"", "href=\"/-/ready\""}) {
    CHECK_MESSAGE(page.body.find(text) != std::string::npos, text);
  }
  CHECK(testsupport::HttpGet(server.http.port(), "/custom/metrics").status == 200);
  CHECK(testsupport::HttpGet(server.http.port(), "/metrics").status == 404);
  CHECK(testsupport::HttpGet(server.http.port(), "/custom/metricsX").status == 404);
}

TEST_CASE("binding a port that is taken is an error, not a crash") {
  RunningServer server;
  server::HttpServer second;
  std::string error;
  CHECK_FALSE(second.Bind("127.0.0.1", server.http.port(), &error));
  CHECK(error.find("cannot listen on 127.0.0.1:") != std::string::npos);
}
