// Test helpers for end-to-end tests: start a real program with its stderr captured to a file,
// wait for a line in it, stop it. Not thread-safe; one Process per test thread.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace testsupport {

class Process {
 public:
  // Starts `argv[0]` with `argv`, `env` added to the environment, stdout and stderr appended to
  // `log_path`.
  Process(std::vector<std::string> argv, const std::string& log_path,
          const std::map<std::string, std::string>& env = {});
  ~Process();
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;

  pid_t pid() const { return pid_; }
  const std::string& log_path() const { return log_path_; }
  std::string Log() const;

  // Sends `signal` and waits for the exit; returns the exit status (128+signal when killed).
  int Stop(int signal = 15, std::chrono::milliseconds timeout = std::chrono::seconds(10));
  // The exit code if it has exited (non-blocking).
  std::optional<int> Poll();
  // Waits for the process to exit on its own.
  std::optional<int> Wait(std::chrono::milliseconds timeout);

 private:
  pid_t pid_ = -1;
  std::string log_path_;
  std::optional<int> exit_code_;
};

// How many times slower than a plain build the processes under test run: the number in
// CREATIFY_TEST_TIME_SCALE (scripts/tsan.sh sets it), 1 otherwise. It stretches how long a test
// waits for a condition and the API timeout of the configs the end-to-end harness writes, never
// a bound that a test asserts.
double TimeScale();
std::chrono::milliseconds Scaled(std::chrono::milliseconds duration);

// Polls `condition` every 50 ms until it holds or `timeout` (scaled by TimeScale) passes.
bool WaitFor(const std::function<bool()>& condition, std::chrono::milliseconds timeout);

// Waits for the Listening line in the log, logfmt ("msg=Listening address=HOST:PORT") or JSON
// ("msg":"Listening","address":"HOST:PORT"), and returns PORT. Throws std::runtime_error, with the
// log, when the process exits first or `timeout` passes.
int WaitForListeningPort(Process& process,
                         std::chrono::milliseconds timeout = std::chrono::seconds(20));

// A fresh temporary directory, removed with its contents on destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  const std::string& path() const { return path_; }
  std::string File(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

void WriteFile(const std::string& path, const std::string& text);

// Runs a shell command; returns its exit status and fills *output with stdout and stderr.
int RunCommand(const std::string& command, std::string* output);

}  // namespace testsupport
