// For fuzz targets whose code under test reads a file by its path: the input as an in-memory
// file (memfd), rewritten for every input, and its /proc/self/fd path. Not thread-safe: libFuzzer
// runs one input at a time.
#pragma once

#include <sys/mman.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <string>

namespace fuzz {

inline std::string InMemoryFile(const std::uint8_t* data, std::size_t size) {
  static const int fd = memfd_create("creatify-fuzz-input", MFD_CLOEXEC);
  if (fd < 0 || ftruncate(fd, 0) != 0 || pwrite(fd, data, size, 0) != static_cast<ssize_t>(size)) {
    __builtin_trap();
  }
  return "/proc/self/fd/" + std::to_string(fd);
}

}  // namespace fuzz
