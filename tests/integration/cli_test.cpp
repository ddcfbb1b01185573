// The exporter binary as a user runs it: --version, --help, --config.check, fatal start-up errors,
// clean shut-down on SIGTERM.
#include <doctest/doctest.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <fstream>
#include <memory>
#include <set>
#include <sstream>
#include <vector>

#include "integration/harness.h"
#include "support/raw_client.h"

using testsupport::RunCommand;

namespace {

std::string Exporter() { return e2e::Binary("creatify-exporter"); }

// Runs the exporter with the given arguments and credentials in the environment.
int Run(const std::string& args, std::string* output, bool with_credentials = true) {
  std::string env = with_credentials ? "env CREATIFY_API_ID=cli-id CREATIFY_API_KEY=cli-secret-key "
                                     : "env -u CREATIFY_API_ID -u CREATIFY_API_KEY ";
  return RunCommand(env + Exporter() + " " + args, output);
}

}  // namespace

TEST_CASE("--version and --help") {
  std::string output;
  CHECK(Run("--version", &output) == 0);
  CHECK(output.rfind("creatify-exporter ", 0) == 0);
  CHECK(Run("--help", &output) == 0);
  for (const char* flag :
       {"--config.file", "--web.listen-address", "--web.telemetry-path", "--web.config.file",
        "--log.level", "--log.format", "--config.check", "--version"}) {
    CHECK_MESSAGE(output.find(flag) != std::string::npos, flag);
  }
  CHECK(output.find(":10487") != std::string::npos);
}

TEST_CASE("the README's flag table and --help list the same flags") {
  std::string output;
  REQUIRE(Run("--help", &output) == 0);
  // "  --name=VALUE ..." or "  -h, --name": the flag lines of the usage text.
  std::set<std::string> help;
  std::istringstream lines(output);
  for (std::string line; std::getline(lines, line);) {
    size_t at = line.rfind("  -h, --", 0) == 0 ? 6 : line.rfind("  --", 0) == 0 ? 2 : 0;
    if (at == 0) continue;
    help.insert(line.substr(at, line.find_first_of("= ", at) - at));
  }
  // "| `--name=VALUE` | default | meaning |" (or "| `-h`, `--help` |") rows of the README.
  std::ifstream readme(std::string(CREATIFY_SOURCE_DIR) + "/README.md");
  std::set<std::string> table;
  for (std::string line; std::getline(readme, line);) {
    if (line.rfind("| `-", 0) != 0) continue;
    size_t at = line.find("`--") + 1;
    table.insert(line.substr(at, line.find_first_of("=`", at) - at));
  }
  CHECK(help.size() >= 13);
  CHECK(help == table);
}

TEST_CASE("--config.check accepts the shipped example and rejects a bad file with its position") {
  testsupport::TempDir dir;
  std::string output;
  CHECK(Run("--config.check --config.file=" + std::string(CREATIFY_SOURCE_DIR) +
                "/config/creatify-exporter.example.yaml",
            &output) == 0);

  testsupport::WriteFile(dir.File("bad.yaml"), "api:\n  timeout: 10 seconds\n");
  CHECK(Run("--config.check --config.file=" + dir.File("bad.yaml"), &output) != 0);
  CHECK(output.find(dir.File("bad.yaml") + ":2:12: api.timeout:") != std::string::npos);
  CHECK(std::count(output.begin(), output.end(), '\n') == 1);

  testsupport::WriteFile(dir.File("ok.yaml"), "poll_interval: 1m\n");
  CHECK(Run("--config.check --config.file=" + dir.File("ok.yaml"), &output, false) != 0);
  CHECK(output.find("CREATIFY_API_ID") != std::string::npos);
}

TEST_CASE("--config.check checks the web config too, and a bad one is a fatal start-up error") {
  testsupport::TempDir dir;
  const std::string config =
      std::string(CREATIFY_SOURCE_DIR) + "/config/creatify-exporter.example.yaml";
  const std::string web = std::string(CREATIFY_SOURCE_DIR) + "/config/web-config.example.yaml";
  std::string output;
  CHECK(Run("--config.check --config.file=" + config + " --web.config.file=" + web, &output) == 0);
  CHECK(output.find(web + ": the web configuration is valid") != std::string::npos);

  testsupport::WriteFile(dir.File("web.yml"), "basic_auth_users:\n  alice: hunter2\n");
  for (const char* check : {"--config.check ", ""}) {
    CAPTURE(check);
    CHECK(Run(check + std::string("--config.file=") + config +
                  " --web.listen-address=127.0.0.1:0 --web.config.file=" + dir.File("web.yml"),
              &output) == 1);
    CHECK(output == "creatify-exporter: " + dir.File("web.yml") +
                        ":2:10: basic_auth_users.alice: not a bcrypt hash ($2y$, $2b$ or $2a$, a "
                        "cost from 04 to 31, then 53 characters); make one with htpasswd -nbBC 10 "
                        "USER PASSWORD\n");
  }
  CHECK(Run("--config.file=" + config + " --web.config.file=" + dir.File("missing.yml"), &output) ==
        1);
  CHECK(output == "creatify-exporter: " + dir.File("missing.yml") +
                      ": cannot read: No such file or directory\n");
}

TEST_CASE("start-up errors are fatal with one clear line, and credentials never show") {
  testsupport::TempDir dir;
  std::string output;
  CHECK(Run("--config.file=" + dir.File("missing.yaml"), &output) != 0);
  CHECK(output.find("missing.yaml") != std::string::npos);

  CHECK(Run("--no-such-flag", &output) == 2);
  CHECK(output.find("--no-such-flag") != std::string::npos);

  testsupport::WriteFile(dir.File("c.yaml"), "api:\n  base_url: ftp://example.com\n");
  CHECK(Run("--config.file=" + dir.File("c.yaml"), &output) != 0);
  CHECK(output.find("api.base_url") != std::string::npos);
  CHECK(output.find("cli-secret-key") == std::string::npos);
}

TEST_CASE("a port that is taken is a fatal start-up error") {
  testsupport::TempDir dir;
  e2e::Exporter first(dir, "api:\n  base_url: http://127.0.0.1:1\npoll_interval: 1h\n");
  REQUIRE(first.port > 0);
  testsupport::WriteFile(dir.File("second.yaml"),
                         "api:\n  base_url: http://127.0.0.1:1\nstate:\n  path: \"\"\n");
  std::string output;
  CHECK(Run("--config.file=" + dir.File("second.yaml") +
                " --web.listen-address=127.0.0.1:" + std::to_string(first.port),
            &output) == 1);
  CHECK(output.find("cannot listen on 127.0.0.1:" + std::to_string(first.port) +
                    ": Address already in use") != std::string::npos);
}

TEST_CASE("SIGTERM ends the exporter within 5 s while slow and non-reading clients hold it") {
  testsupport::TempDir dir;
  e2e::Exporter exporter(dir, "api:\n  base_url: http://127.0.0.1:1\npoll_interval: 1h\n");
  const int port = exporter.port;
  REQUIRE(testsupport::WaitFor([&] { return testsupport::HttpGet(port, "/-/ready").status == 200; },
                               std::chrono::seconds(10)));
  std::vector<std::unique_ptr<rawclient::Connection>> clients;
  for (int i = 0; i < 20; ++i) {
    // Half a request head, never finished.
    clients.push_back(std::make_unique<rawclient::Connection>(port));
    REQUIRE(clients.back()->Send("GET /metrics HTTP/1.1\r\nHost: x\r\nX-Sl"));
    // Many answers asked for, none read.
    clients.push_back(std::make_unique<rawclient::Connection>(port, 4096));
    std::string requests;
    for (int r = 0; r < 200; ++r) requests += "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n";
    REQUIRE(clients.back()->Send(requests));
  }
  auto start = std::chrono::steady_clock::now();
  CHECK(testsupport::HttpGet(port, "/metrics").status == 200);
  CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(1));
  start = std::chrono::steady_clock::now();
  CHECK(exporter.process->Stop(SIGTERM, std::chrono::seconds(10)) == 0);
  CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(5));
}

TEST_CASE("SIGTERM stops the exporter cleanly, and JSON logs are one object per line") {
  testsupport::TempDir dir;
  e2e::Exporter exporter(dir, "api:\n  base_url: http://127.0.0.1:1\npoll_interval: 1h\n",
                         {"--log.format=json", "--web.telemetry-path=/prom"});
  // The harness found the JSON Listening line:
  // {"ts":...,"msg":"Listening","address":"127.0.0.1:PORT",...}.
  const int port = exporter.port;
  auto log = exporter.process->Log();
  CHECK(log.find("\"msg\":\"Listening\",\"address\":\"127.0.0.1:" + std::to_string(port) + "\"") !=
        std::string::npos);
  REQUIRE(testsupport::WaitFor([&] { return testsupport::HttpGet(port, "/-/ready").status == 200; },
                               std::chrono::seconds(10)));
  CHECK(testsupport::HttpGet(port, "/prom").status == 200);
  CHECK(exporter.process->Stop(SIGTERM) == 0);
  log = exporter.process->Log();
  CHECK(log.find("\"msg\":\"Stopping\"") != std::string::npos);
  for (size_t start = 0; start < log.size();) {
    size_t end = log.find('\n', start);
    std::string line = log.substr(start, end - start);
    CHECK_MESSAGE(nlohmann::json::parse(line, nullptr, false).is_object(), line);
    start = end == std::string::npos ? log.size() : end + 1;
  }
}

TEST_CASE("a 200 KB unquoted value in the config is refused by --config.check, not a crash") {
  testsupport::TempDir dir;
  std::string output;
  for (const std::string& yaml : {"api:\n  max_concurrency: " + std::string(200000, '1') + "\n",
                                  "api:\n  base_url: " + std::string(200000, '7') + "\n",
                                  "aurora:\n  ordering: " + std::string(200000, 'a') + "-\n",
                                  "poll_interval: " + std::string(200000, '9') + "s\n"}) {
    testsupport::WriteFile(dir.File("long.yaml"), yaml);
    CHECK(Run("--config.check --config.file=" + dir.File("long.yaml"), &output) == 1);
    CHECK(std::count(output.begin(), output.end(), '\n') == 1);
    CHECK(output.size() < 400);
  }
}

TEST_CASE("polling threads that cannot be started are a fatal start-up error with one line") {
#if defined(__SANITIZE_ADDRESS__)
  // AddressSanitizer reserves terabytes of address space: a process under it cannot run with the
  // address-space limit this test uses to make thread stacks fail.
  MESSAGE("not run under AddressSanitizer");
  return;
#else
  testsupport::TempDir dir;
  testsupport::WriteFile(dir.File("c.yaml"),
                         "api:\n  base_url: http://127.0.0.1:1\n  max_concurrency: 64\n"
                         "state:\n  path: \"\"\n");
  // 64 workers with 100 MB stacks do not fit in 2 GB of address space; the process itself does.
  std::string output;
  const int rc = RunCommand(
      "ulimit -s 100000 && ulimit -v 2000000 && env CREATIFY_API_ID=a "
      "CREATIFY_API_KEY=b " +
          Exporter() + " --config.file=" + dir.File("c.yaml") + " --web.listen-address=127.0.0.1:0",
      &output);
  CHECK(rc == 1);
  CHECK(output.find("creatify-exporter: cannot start the polling threads: ") != std::string::npos);
  CHECK(output.find("terminate") == std::string::npos);
#endif
}
