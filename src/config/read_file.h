// Reads a whole small file (the config, a credential file) with a size limit, saying why it
// could not. Thread-safe.
#pragma once

#include <cstddef>
#include <string>

namespace config {

enum class ReadResult { kOk, kError, kTooLarge, kNotRegular };

// Reads `path` into *out. kError sets *err to the errno of the failure (ENOENT, EISDIR, ...);
// kTooLarge means the file holds more than `max_bytes`. kNotRegular: the path is neither a
// regular file nor a directory (a FIFO, a device, a socket): such a read could wait forever, so
// it is refused unread. A directory is kError with EISDIR.
ReadResult ReadFile(const std::string& path, std::size_t max_bytes, std::string* out, int* err);

}  // namespace config
