// The ids files of `ids_file:`: one job id per line, '#' starts a comment, blank lines are
// ignored. Read at start-up (a file that cannot be read is a config error) and re-read by the
// poller when it changes; a malformed line is reported, never fatal. Thread-safe (no state).
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace config {

// The largest ids file read (about 20 million ids of 40 characters would not fit).
inline constexpr std::size_t kMaxIdsFileBytes = 256 << 20;

struct IdsFileLine {
  int number = 0;  // 1-based
  std::string text;
};

struct IdsFileContent {
  // In file order, without duplicates.
  std::vector<std::string> ids;
  // Lines that are not a job id (letters, digits, '-' and '_'), with the reason in `text`.
  std::vector<IdsFileLine> invalid;
};

IdsFileContent ParseIdsFile(std::string_view text);

// What identifies one version of a file: a ConfigMap update swaps a symlink, an editor writes
// a new inode or the same one; any change of these means "read it again".
struct FileVersion {
  dev_t device = 0;
  ino_t inode = 0;
  off_t size = 0;
  long long mtime_ns = 0;
  bool operator==(const FileVersion&) const = default;
};

// The file's version (following symlinks), or nullopt with *error set when it cannot be read.
std::optional<FileVersion> StatFile(const std::string& path, std::string* error);

// Reads and parses; nullopt and *error ("cannot read \"path\": reason") on failure.
std::optional<IdsFileContent> ReadIdsFile(const std::string& path, std::string* error);

// "" when `path` is a readable ids file, else why not (for config messages).
std::string CheckIdsFile(const std::string& path);

}  // namespace config
