// The web config while the real exporter runs: a renewed certificate, a changed user list and a
// broken web config, with no restart; and known scrapers answered at once under a flood of
// failing passwords from many clients.
#include <doctest/doctest.h>
#include <httplib.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "integration/harness.h"
#include "server/test_pki.h"
#include "support/raw_client.h"

namespace {

using namespace std::chrono_literals;

const std::string kSource = CREATIFY_SOURCE_DIR;

// An API that refuses connections: the exporter has nothing to poll, only to serve.
constexpr char kConfig[] = "api:\n  base_url: http://127.0.0.1:1\npoll_interval: 1h\n";

// The shipped example's hash (bcrypt cost 10, as users make them) of "example-password".
constexpr char kExampleHash[] = "$2y$10$auEwYZrtUtDEFGUEBzYuz.R3hdP1UAKTTW1nD5oVch.C1lpeXf0sW";

std::multimap<std::string, std::string> Auth(const std::string& user, const std::string& password) {
  return {httplib::make_basic_authentication_header(user, password)};
}

std::string Users(const std::string& user) {
  return "basic_auth_users:\n  " + user + ": \"" + kExampleHash + "\"\n";
}

// Writes `content` to `path` the way a renewal does: a new file renamed over the old one.
void Replace(const std::string& path, const std::string& content) {
  testsupport::WriteFile(path + ".new", content);
  std::filesystem::rename(path + ".new", path);
}

// The value of an unlabelled sample in `text`, or -1.
double Sample(const std::string& text, const std::string& name) {
  const std::string line = "\n" + name + " ";
  const size_t at = text.find(line);
  if (at == std::string::npos) return -1;
  return std::stod(text.substr(at + line.size()));
}

size_t Count(const std::string& text, const std::string& what) {
  size_t count = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++count;
  return count;
}

}  // namespace

TEST_CASE("a renewed certificate and key serve new connections without a restart") {
  testsupport::TempDir dir;
  const testpki::Pki first = testpki::Make();
  const std::string cert = dir.File("server.crt");
  const std::string key = dir.File("server.key");
  testsupport::WriteFile(cert, first.server.cert);
  testsupport::WriteFile(key, first.server.key);
  testsupport::WriteFile(dir.File("first-ca.crt"), first.ca.cert);
  const std::string web_config = dir.File("web.yml");
  testsupport::WriteFile(web_config, "tls_server_config:\n  cert_file: " + cert +
                                         "\n  key_file: " + key + "\n" + Users("prometheus"));
  e2e::Exporter exporter(dir, kConfig, {"--web.config.file=" + web_config});
  const testsupport::TlsClient old_client{.ca_file = dir.File("first-ca.crt")};
  const auto auth = Auth("prometheus", "example-password");
  REQUIRE(testsupport::HttpsGet(exporter.port, "/-/healthy", old_client, auth).status == 200);

  // cert-manager's way: both files replaced, the exporter untouched.
  const testpki::Pki renewed = testpki::Make();
  testsupport::WriteFile(dir.File("renewed-ca.crt"), renewed.ca.cert);
  Replace(key, renewed.server.key);
  Replace(cert, renewed.server.cert);
  const testsupport::TlsClient new_client{.ca_file = dir.File("renewed-ca.crt")};
  CHECK(testsupport::WaitFor(
      [&] {
        return testsupport::HttpsGet(exporter.port, "/-/healthy", new_client, auth).status == 200;
      },
      10s));
  // The old certificate is no longer served.
  CHECK(testsupport::HttpsGet(exporter.port, "/-/healthy", old_client, auth).status == 0);
  auto metrics = testsupport::HttpsGet(exporter.port, "/metrics", new_client, auth).body;
  CHECK(Sample(metrics, "creatify_exporter_web_config_last_reload_successful") == 1);
  CHECK(Sample(metrics, "creatify_exporter_web_config_last_reload_success_timestamp_seconds") > 0);
  CHECK(exporter.process->Log().find("Reloaded the web config") != std::string::npos);
}

TEST_CASE(
    "a changed user list applies to the next request, and a broken web config keeps the "
    "last good one") {
  testsupport::TempDir dir;
  const std::string web_config = dir.File("web.yml");
  testsupport::WriteFile(web_config, Users("prometheus"));
  e2e::Exporter exporter(dir, kConfig, {"--web.config.file=" + web_config});
  const auto old_user = Auth("prometheus", "example-password");
  const auto new_user = Auth("scraper", "example-password");
  // Let in, and so remembered: it must still be turned away once its user is gone.
  REQUIRE(testsupport::HttpGet(exporter.port, "/-/healthy", old_user).status == 200);

  Replace(web_config, Users("scraper"));
  CHECK(testsupport::WaitFor(
      [&] { return testsupport::HttpGet(exporter.port, "/-/healthy", new_user).status == 200; },
      10s));
  CHECK(testsupport::HttpGet(exporter.port, "/-/healthy", old_user).status == 401);

  Replace(web_config, "basic_auth_users: [not a map\n");
  CHECK(testsupport::WaitFor(
      [&] {
        return Sample(testsupport::HttpGet(exporter.port, "/metrics", new_user).body,
                      "creatify_exporter_web_config_last_reload_successful") == 0;
      },
      10s));
  // The last good one is in force; the reason is in the log, once for this change.
  CHECK(testsupport::HttpGet(exporter.port, "/-/healthy", new_user).status == 200);
  CHECK(testsupport::HttpGet(exporter.port, "/-/healthy", old_user).status == 401);
  CHECK(testsupport::HttpGet(exporter.port, "/-/healthy").status == 401);
  const std::string log = exporter.process->Log();
  CHECK(Count(log, "The web config cannot be used") == 1);
  CHECK(log.find("web.yml") != std::string::npos);

  Replace(web_config, Users("prometheus"));
  CHECK(testsupport::WaitFor(
      [&] {
        return Sample(testsupport::HttpGet(exporter.port, "/metrics", old_user).body,
                      "creatify_exporter_web_config_last_reload_successful") == 1;
      },
      10s));
}

TEST_CASE("known scrapers are answered at once while 60 clients send wrong passwords") {
  testsupport::TempDir dir;
  const std::string web_config = dir.File("web.yml");
  testsupport::WriteFile(web_config, Users("prometheus"));
  e2e::Exporter exporter(dir, kConfig, {"--web.config.file=" + web_config});
  const std::string known =
      httplib::make_basic_authentication_header("prometheus", "example-password").second;
  const std::string wrong =
      httplib::make_basic_authentication_header("prometheus", "wrong-password").second;
  auto request = [](const std::string& authorization) {
    return "GET /metrics HTTP/1.1\r\nHost: localhost\r\nAuthorization: " + authorization +
           "\r\n\r\n";
  };
  // Let in once (one bcrypt), before the flood.
  {
    rawclient::Connection scraper(exporter.port);
    REQUIRE(scraper.Send(request(known)));
    REQUIRE(scraper.Read(10s).status == 200);
  }

  // 60 clients, each from an address of its own, each asking again as soon as it is refused.
  std::atomic<bool> stop{false};
  std::atomic<int> refused{0};
  std::vector<std::thread> flood;
  for (int client = 0; client < 60; ++client) {
    flood.emplace_back([&, client] {
      const std::string source = "127.0.0." + std::to_string(10 + client);
      while (!stop) {
        rawclient::Connection connection(exporter.port, 0, source.c_str());
        while (!stop && connection.Send(request(wrong))) {
          auto answer = connection.Read(15s);
          if (answer.status == 0 || answer.closed) break;
          ++refused;
        }
      }
    });
  }
  // The flood is under way once some were turned away.
  CHECK(testsupport::WaitFor([&] { return refused.load() >= 20; }, 30s));

  std::vector<double> seconds;
  for (int i = 0; i < 20; ++i) {
    const auto start = std::chrono::steady_clock::now();
    rawclient::Connection scraper(exporter.port, 0, i % 2 ? "127.0.0.1" : "127.0.0.2");
    REQUIRE(scraper.Send(request(known)));
    auto answer = scraper.Read(10s);
    seconds.push_back(
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
    CHECK(answer.status == 200);
  }
  stop = true;
  for (auto& thread : flood) thread.join();
  // A scrape never waits for a password check: it takes what serving /metrics takes, far below
  // the 60 failing checks (tens of milliseconds each) queued at any moment.
  const double slowest = *std::max_element(seconds.begin(), seconds.end());
  MESSAGE("slowest known-credential scrape under the flood: " << slowest << " s");
  CHECK(slowest < 1.0 * testsupport::TimeScale());
  CHECK(refused.load() > 0);
}
