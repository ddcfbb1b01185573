// The health socket end to end: the real exporter with TLS, client certificates and basic auth
// on its port, and `creatify-exporter --web.health-check` beside it, as the container image's
// HEALTHCHECK runs it.
#include <doctest/doctest.h>
#include <signal.h>
#include <sys/stat.h>

#include <chrono>
#include <string>

#include "integration/harness.h"

namespace {

const std::string kTls = std::string(CREATIFY_SOURCE_DIR) + "/tests/testdata/tls/";

// An API that refuses connections: the exporter starts and stays up without one.
constexpr char kConfig[] = "api:\n  base_url: http://127.0.0.1:1\npoll_interval: 1h\n";

// TLS that requires a client certificate of the test CA, and the example's basic auth user.
std::string WebConfig(const testsupport::TempDir& dir) {
  const std::string path = dir.File("web-config.yaml");
  testsupport::WriteFile(
      path, "tls_server_config:\n  cert_file: " + kTls + "server.crt\n  key_file: " + kTls +
                "server.key\n  client_auth_type: RequireAndVerifyClientCert\n"
                "  client_ca_file: " +
                kTls +
                "ca.crt\nbasic_auth_users:\n  prometheus: "
                "$2y$10$auEwYZrtUtDEFGUEBzYuz.R3hdP1UAKTTW1nD5oVch.C1lpeXf0sW\n");
  return path;
}

struct Check {
  int status = -1;
  std::string output;
  std::chrono::milliseconds took{0};
};

// `creatify-exporter --web.health-check` with `args`, CREATIFY_EXPORTER_HEALTH_SOCKET set to
// `env_socket` (unset when empty).
Check HealthCheck(const std::string& args, const std::string& env_socket = "") {
  const std::string env = env_socket.empty()
                              ? "env -u CREATIFY_EXPORTER_HEALTH_SOCKET "
                              : "env CREATIFY_EXPORTER_HEALTH_SOCKET=" + env_socket + " ";
  Check check;
  const auto start = std::chrono::steady_clock::now();
  check.status = testsupport::RunCommand(
      env + e2e::Binary("creatify-exporter") + " --web.health-check " + args, &check.output);
  check.took = std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::steady_clock::now() - start);
  return check;
}

bool Exists(const std::string& path) {
  struct stat info {};
  return lstat(path.c_str(), &info) == 0;
}

}  // namespace

TEST_CASE("--web.health-check passes with TLS, client certificates and basic auth on") {
  testsupport::TempDir dir;
  const std::string socket_path = dir.File("health.sock");
  e2e::Exporter exporter(
      dir, kConfig, {"--web.config.file=" + WebConfig(dir), "--web.health-socket=" + socket_path});
  // The port itself lets no one in without a certificate: the probe cannot use it.
  CHECK(testsupport::HttpsGet(exporter.port, "/-/healthy",
                              testsupport::TlsClient{.ca_file = kTls + "ca.crt"})
            .status != 200);

  Check by_flag = HealthCheck("--web.health-socket=" + socket_path);
  CHECK_MESSAGE(by_flag.status == 0, by_flag.output);
  CHECK(by_flag.output.empty());
  // As the image runs it: the path from the environment.
  Check by_env = HealthCheck("", socket_path);
  CHECK_MESSAGE(by_env.status == 0, by_env.output);

  SUBCASE("a stopped exporter fails the check within its timeout") {
    REQUIRE(kill(exporter.process->pid(), SIGSTOP) == 0);
    Check stopped = HealthCheck("", socket_path);
    kill(exporter.process->pid(), SIGCONT);
    CHECK(stopped.status == 1);
    CHECK(stopped.output == "creatify-exporter: health check failed: the exporter at " +
                                socket_path + " did not answer within the timeout\n");
    // 3 s, below the image's HEALTHCHECK --timeout=5s, with room for a slow machine.
    CHECK(stopped.took >= std::chrono::milliseconds(2900));
    CHECK(stopped.took < std::chrono::milliseconds(4900));
    // Going on again, it answers again.
    Check resumed = HealthCheck("", socket_path);
    CHECK_MESSAGE(resumed.status == 0, resumed.output);
  }

  SUBCASE("an exporter gone fails the check at once, and leaves no socket file") {
    CHECK(exporter.process->Stop() == 0);
    CHECK_FALSE(Exists(socket_path));
    Check gone = HealthCheck("", socket_path);
    CHECK(gone.status == 1);
    CHECK(gone.output ==
          "creatify-exporter: health check failed: cannot connect to the exporter at " +
              socket_path + ": No such file or directory\n");
    CHECK(gone.took < std::chrono::milliseconds(2000));
  }
}

TEST_CASE("the exporter takes the health socket's path from CREATIFY_EXPORTER_HEALTH_SOCKET") {
  testsupport::TempDir dir;
  const std::string socket_path = dir.File("from-env.sock");
  e2e::Exporter exporter(dir, kConfig, {}, {{"CREATIFY_EXPORTER_HEALTH_SOCKET", socket_path}});
  CHECK(exporter.process->Log().find("path=" + socket_path) != std::string::npos);
  Check check = HealthCheck("", socket_path);
  CHECK_MESSAGE(check.status == 0, check.output);
}

TEST_CASE("--web.health-check without a socket, and a health socket path that is not a socket") {
  testsupport::TempDir dir;
  Check none = HealthCheck("");
  CHECK(none.status == 1);
  CHECK(none.output ==
        "creatify-exporter: health check failed: no health socket: give --web.health-socket or "
        "set CREATIFY_EXPORTER_HEALTH_SOCKET\n");

  // A start-up error: one line, exit 1.
  const std::string file = dir.File("not-a-socket");
  testsupport::WriteFile(file, "");
  testsupport::WriteFile(dir.File("exporter.yaml"),
                         std::string(kConfig) + "state:\n  path: \"\"\n");
  std::string output;
  int status = testsupport::RunCommand(
      "env CREATIFY_API_ID=id CREATIFY_API_KEY=key " + e2e::Binary("creatify-exporter") +
          " --config.file=" + dir.File("exporter.yaml") +
          " --web.listen-address=127.0.0.1:0 --web.health-socket=" + file,
      &output);
  CHECK(status == 1);
  const std::string line =
      "creatify-exporter: health socket (--web.health-socket or CREATIFY_EXPORTER_HEALTH_SOCKET): "
      "cannot listen on " +
      file + ": the path exists and is not a socket\n";
  CHECK_MESSAGE(output.find(line) != std::string::npos, output);
}
