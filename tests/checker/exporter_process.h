// The real creatify-exporter as the checker runs it: its output goes through a pipe into a log
// file (so that a file-size limit put on the exporter, the checker's "full disk", limits the
// state file and not its log), and the limit can be set and lifted while it runs.
//
// Not thread-safe: one driver thread owns it.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace checker {

class ExporterProcess {
 public:
  // Starts `binary --config.file=<config> --web.listen-address=127.0.0.1:0`, appending its output
  // to `log_path`, and waits for the port it listens on. Throws std::runtime_error, with the
  // log's tail, when it exits first or does not listen in time.
  ExporterProcess(const std::string& binary, const std::string& config_path,
                  const std::string& log_path);
  ~ExporterProcess();
  ExporterProcess(const ExporterProcess&) = delete;
  ExporterProcess& operator=(const ExporterProcess&) = delete;

  pid_t pid() const { return pid_; }
  int port() const { return port_; }

  // Sends the signal and waits for the exit; the exit status (128+signal when killed).
  int Stop(int signal, std::chrono::milliseconds timeout);
  void Signal(int signal) const;
  // The exit status when it has exited, without waiting.
  std::optional<int> Exited();
  // RLIMIT_FSIZE of the running process (std::nullopt: unlimited).
  bool LimitFileSize(std::optional<long long> bytes) const;

 private:
  void Reap(bool block);

  pid_t pid_ = -1;
  int port_ = 0;
  std::string log_path_;
  std::optional<int> exit_status_;
  std::thread copier_;
};

// The last `bytes` of the file.
std::string FileTail(const std::string& path, size_t bytes);

}  // namespace checker
