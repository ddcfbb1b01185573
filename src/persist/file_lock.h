// An exclusive advisory lock (flock) on a file, held until the FileLock is destroyed: what keeps
// two exporters off one state file. Works across processes and across descriptors of one process.
// Not thread-safe.
#pragma once

#include <string>

namespace persist {

class FileLock {
 public:
  enum class Result {
    kAcquired,
    // Another descriptor (another exporter) holds it.
    kHeld,
    // The lock file cannot be created or opened (missing or read-only directory).
    kUnavailable,
  };

  FileLock() = default;
  ~FileLock();
  FileLock(const FileLock&) = delete;
  FileLock& operator=(const FileLock&) = delete;

  // Creates `path` if needed and takes the lock without waiting. *error says why on kUnavailable.
  Result Acquire(const std::string& path, std::string* error);
  bool held() const { return fd_ >= 0; }

 private:
  int fd_ = -1;
};

}  // namespace persist
