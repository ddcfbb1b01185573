#include "checker/exporter_process.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>
#include <stdexcept>

#include "support/process.h"

extern char** environ;

namespace checker {

std::string FileTail(const std::string& path, size_t bytes) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream buffer;
  buffer << in.rdbuf();
  std::string text = buffer.str();
  return text.size() > bytes ? "[...]" + text.substr(text.size() - bytes) : text;
}

ExporterProcess::ExporterProcess(const std::string& binary, const std::string& config_path,
                                 const std::string& log_path)
    : log_path_(log_path) {
  // The log may hold earlier runs: the port is read from what this one adds.
  std::error_code ec;
  const auto log_start =
      std::filesystem::exists(log_path, ec) ? std::filesystem::file_size(log_path, ec) : 0;
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) throw std::runtime_error("pipe failed");
  std::vector<std::string> argv = {binary, "--config.file=" + config_path,
                                   "--web.listen-address=127.0.0.1:0"};
  std::vector<std::string> env;
  for (char** e = environ; *e != nullptr; ++e) {
    std::string entry(*e);
    if (entry.rfind("CREATIFY_API_", 0) != 0) env.push_back(entry);
  }
  env.push_back("CREATIFY_API_ID=checker-id");
  env.push_back("CREATIFY_API_KEY=checker-key");
  std::vector<char*> args, envp;
  for (auto& a : argv) args.push_back(a.data());
  args.push_back(nullptr);
  for (auto& e : env) envp.push_back(e.data());
  envp.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, fds[1], 1);
  posix_spawn_file_actions_adddup2(&actions, fds[1], 2);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  const int rc = posix_spawn(&pid_, args[0], &actions, nullptr, args.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  close(fds[1]);
  if (rc != 0) {
    close(fds[0]);
    throw std::runtime_error("cannot start " + binary);
  }
  // Copies the output to the log until the exporter (and every copy of the pipe) is gone.
  copier_ = std::thread([read_fd = fds[0], path = log_path_] {
    const int out = open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    char buffer[4096];
    while (true) {
      const ssize_t n = read(read_fd, buffer, sizeof buffer);
      if (n <= 0) break;
      if (out >= 0 && write(out, buffer, static_cast<size_t>(n)) < 0) break;
    }
    if (out >= 0) close(out);
    close(read_fd);
  });
  const std::regex listening(R"(Listening"?[^\n]*address"?[=:]"?127\.0\.0\.1:([0-9]+))");
  const bool ready = testsupport::WaitFor(
      [&] {
        std::smatch match;
        std::string log = FileTail(log_path_, 1 << 24);
        log = log.size() > log_start ? log.substr(log_start) : "";
        if (std::regex_search(log, match, listening)) {
          port_ = std::stoi(match[1]);
          return true;
        }
        return Exited().has_value();
      },
      std::chrono::seconds(20));
  if (!ready || port_ == 0) {
    Stop(SIGKILL, std::chrono::seconds(5));
    throw std::runtime_error("the exporter did not start; its log:\n" + FileTail(log_path_, 4000));
  }
}

ExporterProcess::~ExporterProcess() {
  if (!exit_status_) Stop(SIGKILL, std::chrono::seconds(5));
  if (copier_.joinable()) copier_.join();
}

void ExporterProcess::Reap(bool block) {
  if (exit_status_) return;
  int status = 0;
  if (waitpid(pid_, &status, block ? 0 : WNOHANG) == pid_) {
    exit_status_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  }
}

std::optional<int> ExporterProcess::Exited() {
  Reap(false);
  return exit_status_;
}

void ExporterProcess::Signal(int signal) const {
  if (!exit_status_) kill(pid_, signal);
}

int ExporterProcess::Stop(int signal, std::chrono::milliseconds timeout) {
  if (Exited()) return *exit_status_;
  kill(pid_, signal);
  if (!testsupport::WaitFor([&] { return Exited().has_value(); }, timeout)) {
    kill(pid_, SIGKILL);
    Reap(true);
  }
  return *exit_status_;
}

bool ExporterProcess::LimitFileSize(std::optional<long long> bytes) const {
  struct rlimit limit {};
  if (prlimit(pid_, RLIMIT_FSIZE, nullptr, &limit) != 0) return false;
  limit.rlim_cur = bytes ? static_cast<rlim_t>(*bytes) : limit.rlim_max;
  return prlimit(pid_, RLIMIT_FSIZE, &limit, nullptr) == 0;
}

}  // namespace checker
