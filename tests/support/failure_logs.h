// The logs of the processes a test started, kept until the test case ends, so that a failing
// end-to-end test prints what the exporter and the simulator said (their log files live in the
// test's temporary directory, gone by then). Header-only: the test main reads it, and only the
// executables that start processes write it.
#pragma once

#include <mutex>
#include <string>
#include <utility>
#include <vector>

namespace testsupport {

struct FailureLogs {
  std::mutex mutex;
  std::vector<std::pair<std::string, std::string>> logs;  // (what, the log's tail)

  static FailureLogs& Get() {
    static FailureLogs instance;
    return instance;
  }

  void Keep(std::string what, const std::string& log) {
    constexpr size_t kTail = 16 * 1024;
    std::string tail = log.size() > kTail ? "[...]" + log.substr(log.size() - kTail) : log;
    std::lock_guard<std::mutex> lock(mutex);
    logs.emplace_back(std::move(what), std::move(tail));
  }

  std::vector<std::pair<std::string, std::string>> Take() {
    std::lock_guard<std::mutex> lock(mutex);
    return std::exchange(logs, {});
  }
};

}  // namespace testsupport
