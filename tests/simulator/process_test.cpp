// The real creatify-simulator binary: port 0, the Listening line, credentials over HTTP, the
// written exporter config, SIGTERM, and the exit code of a bad flag.
#include <doctest/doctest.h>
#include <fcntl.h>
#include <httplib.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <optional>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

extern char** environ;

namespace {

using Json = nlohmann::json;
using Clock = std::chrono::steady_clock;

const std::string kBinary = CREATIFY_BINARY_DIR "/creatify-simulator";
constexpr auto kDeadline = std::chrono::seconds(20);

// A child process whose stderr the test reads; killed at destruction if still running.
class Child {
 public:
  explicit Child(const std::vector<std::string>& args) {
    int fds[2];
    REQUIRE(pipe(fds) == 0);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, fds[1], STDERR_FILENO);
    posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_addclose(&actions, fds[0]);
    std::vector<char*> argv;
    argv.push_back(const_cast<char*>(kBinary.c_str()));
    for (const auto& arg : args) argv.push_back(const_cast<char*>(arg.c_str()));
    argv.push_back(nullptr);
    int rc = posix_spawn(&pid_, kBinary.c_str(), &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    close(fds[1]);
    stderr_fd_ = fds[0];
    REQUIRE_MESSAGE(rc == 0, "cannot start " << kBinary);
  }

  ~Child() {
    if (pid_ > 0) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
    if (stderr_fd_ >= 0) close(stderr_fd_);
  }

  // Reads stderr until a line matches `pattern` or the deadline passes; returns the match.
  std::optional<std::smatch> WaitForLine(const std::regex& pattern) {
    auto deadline = Clock::now() + kDeadline;
    while (true) {
      std::size_t newline;
      while ((newline = buffer_.find('\n')) != std::string::npos) {
        line_ = buffer_.substr(0, newline);
        buffer_.erase(0, newline + 1);
        lines_ += line_ + "\n";
        std::smatch match;
        if (std::regex_search(line_, match, pattern)) return match;
      }
      if (!ReadSome(deadline)) return std::nullopt;
    }
  }

  // Everything written to stderr until the process closes it (or the deadline).
  std::string ReadAll() {
    auto deadline = Clock::now() + kDeadline;
    while (ReadSome(deadline)) {
    }
    lines_ += buffer_;
    buffer_.clear();
    return lines_;
  }

  // The exit status, or nullopt when the process did not exit before the deadline.
  std::optional<int> Wait() {
    auto deadline = Clock::now() + kDeadline;
    while (Clock::now() < deadline) {
      int status = 0;
      pid_t done = waitpid(pid_, &status, WNOHANG);
      if (done == pid_) {
        pid_ = -1;
        return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      }
      // Waiting on the pipe rather than sleeping: it closes when the process exits.
      pollfd fd{.fd = stderr_fd_, .events = POLLIN, .revents = 0};
      if (poll(&fd, 1, 50) > 0) {
        char chunk[4096];
        ssize_t n = read(stderr_fd_, chunk, sizeof chunk);
        if (n > 0) buffer_.append(chunk, static_cast<std::size_t>(n));
      }
    }
    return std::nullopt;
  }

  void Signal(int signal) { kill(pid_, signal); }
  const std::string& Lines() const { return lines_; }

 private:
  bool ReadSome(Clock::time_point deadline) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) return false;
    pollfd fd{.fd = stderr_fd_, .events = POLLIN, .revents = 0};
    if (poll(&fd, 1, static_cast<int>(left.count())) <= 0) return false;
    char chunk[4096];
    ssize_t n = read(stderr_fd_, chunk, sizeof chunk);
    if (n <= 0) return false;
    buffer_.append(chunk, static_cast<std::size_t>(n));
    return true;
  }

  pid_t pid_ = -1;
  int stderr_fd_ = -1;
  std::string buffer_;
  std::string line_;
  std::string lines_;
};

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

TEST_CASE("the binary serves jobs on a free port, checks credentials and stops on SIGTERM") {
  std::string config =
      CREATIFY_BINARY_DIR "/simulator_process_test_" + std::to_string(getpid()) + ".yaml";
  std::remove(config.c_str());
  Child child({"--listen-address=127.0.0.1:0", "--api-id=id-1", "--api-key=key-1",
               "--write-exporter-config=" + config});
  auto match = child.WaitForLine(std::regex(R"(msg=Listening address=127\.0\.0\.1:(\d+))"));
  REQUIRE_MESSAGE(match.has_value(), child.ReadAll());
  int port = std::stoi((*match)[1].str());
  CHECK(port > 0);

  // The config was written before the Listening line.
  std::string yaml = ReadFile(config);
  CHECK(yaml.find("base_url: http://127.0.0.1:" + std::to_string(port) + "\n") !=
        std::string::npos);
  CHECK(yaml.find("key-1") == std::string::npos);
  std::remove(config.c_str());

  httplib::Client client("127.0.0.1", port);
  client.set_connection_timeout(5);
  client.set_read_timeout(5);
  auto state = client.Get("/sim/state");
  REQUIRE(state);
  REQUIRE(state->status == 200);
  std::string id = Json::parse(state->body)["kinds"]["custom_template"]["ids"][0];
  CHECK(yaml.find(id) != std::string::npos);
  std::string path = "/api/custom_template_jobs/" + id + "/";

  auto good = client.Get(path.c_str(), {{"X-API-ID", "id-1"}, {"X-API-KEY", "key-1"}});
  REQUIRE(good);
  CHECK(good->status == 200);
  CHECK(good->get_header_value("Content-Type") == "application/json");
  CHECK(Json::parse(good->body)["id"] == id);

  auto wrong = client.Get(path.c_str(), {{"X-API-ID", "id-1"}, {"X-API-KEY", "demo-key"}});
  REQUIRE(wrong);
  CHECK(wrong->status == 403);
  auto none = client.Get(path.c_str());
  REQUIRE(none);
  CHECK(none->status == 401);

  auto release = client.Post("/sim/release");
  REQUIRE(release);
  CHECK(release->status == 200);

  child.Signal(SIGTERM);
  auto code = child.Wait();
  REQUIRE_MESSAGE(code.has_value(), "still running after SIGTERM");
  CHECK(*code == 0);
}

TEST_CASE("SIGINT stops the binary too") {
  Child child({"--listen-address=127.0.0.1:0"});
  REQUIRE(child.WaitForLine(std::regex("msg=Listening")).has_value());
  child.Signal(SIGINT);
  auto code = child.Wait();
  REQUIRE(code.has_value());
  CHECK(*code == 0);
}

TEST_CASE("a bad flag is one error line and exit code 2") {
  Child child({"--fault-429=2"});
  auto code = child.Wait();
  REQUIRE(code.has_value());
  CHECK(*code == 2);
  std::string text = child.ReadAll();
  CHECK(text ==
        "creatify-simulator: invalid value \"2\" for --fault-429: expected a number from 0 to "
        "1\n");
}

TEST_CASE("a port in use is an error, not a hang") {
  Child first({"--listen-address=127.0.0.1:0"});
  auto match = first.WaitForLine(std::regex(R"(address=127\.0\.0\.1:(\d+))"));
  REQUIRE(match.has_value());
  Child second({"--listen-address=127.0.0.1:" + (*match)[1].str()});
  auto code = second.Wait();
  REQUIRE(code.has_value());
  CHECK(*code == 1);
  CHECK(second.ReadAll().find("Cannot listen") != std::string::npos);
}

}  // namespace
