#include "persist/file_lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace persist {

FileLock::~FileLock() {
  if (fd_ >= 0) close(fd_);
}

FileLock::Result FileLock::Acquire(const std::string& path, std::string* error) {
  if (fd_ >= 0) return Result::kAcquired;
  const int fd = open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) {
    *error = "cannot open the lock file " + path + ": " + std::strerror(errno);
    return Result::kUnavailable;
  }
  if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
    const int saved = errno;
    close(fd);
    if (saved == EWOULDBLOCK) return Result::kHeld;
    *error = "cannot lock " + path + ": " + std::strerror(saved);
    return Result::kUnavailable;
  }
  fd_ = fd;
  return Result::kAcquired;
}

}  // namespace persist
