#include "config/read_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

namespace config {

// POSIX reads rather than iostreams: they report why a read failed (errno), including EISDIR.
ReadResult ReadFile(const std::string& path, std::size_t max_bytes, std::string* out, int* err) {
  // O_NONBLOCK: opening a FIFO that has no writer would wait for one.
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) {
    *err = errno;
    return ReadResult::kError;
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    const bool directory = S_ISDIR(st.st_mode);
    ::close(fd);
    if (!directory) return ReadResult::kNotRegular;
    *err = EISDIR;
    return ReadResult::kError;
  }
  out->clear();
  char buf[8192];
  ReadResult result = ReadResult::kOk;
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      *err = errno;
      result = ReadResult::kError;
      break;
    }
    if (n == 0) break;
    if (out->size() + static_cast<std::size_t>(n) > max_bytes) {
      result = ReadResult::kTooLarge;
      break;
    }
    out->append(buf, static_cast<std::size_t>(n));
  }
  ::close(fd);
  return result;
}

}  // namespace config
