#include "config/ids_file.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <unordered_set>

#include "config/read_file.h"
#include "config/yaml_reader.h"
#include "text/strings.h"

namespace config {

IdsFileContent ParseIdsFile(std::string_view text) {
  IdsFileContent content;
  std::unordered_set<std::string_view> seen;
  int number = 0;
  while (!text.empty()) {
    size_t end = text.find('\n');
    std::string_view line = text.substr(0, end);
    text = end == std::string_view::npos ? std::string_view() : text.substr(end + 1);
    ++number;
    if (size_t hash = line.find('#'); hash != std::string_view::npos) line = line.substr(0, hash);
    line = text::Trim(line);
    if (line.empty()) continue;
    bool valid = line.size() <= 256;
    for (char c : line) valid = valid && IsIdChar(c);
    if (!valid) {
      content.invalid.push_back({number, std::string(line.substr(0, 80))});
      continue;
    }
    if (seen.insert(line).second) content.ids.emplace_back(line);
  }
  return content;
}

std::optional<FileVersion> StatFile(const std::string& path, std::string* error) {
  struct stat st {};
  if (stat(path.c_str(), &st) != 0) {
    *error = "cannot read " + QuotePath(path) + ": " + std::strerror(errno);
    return std::nullopt;
  }
  return FileVersion{
      .device = st.st_dev,
      .inode = st.st_ino,
      .size = st.st_size,
      .mtime_ns = static_cast<long long>(st.st_mtim.tv_sec) * 1'000'000'000LL + st.st_mtim.tv_nsec};
}

std::optional<IdsFileContent> ReadIdsFile(const std::string& path, std::string* error) {
  std::string text;
  int err = 0;
  switch (ReadFile(path, kMaxIdsFileBytes, &text, &err)) {
    case ReadResult::kOk:
      return ParseIdsFile(text);
    case ReadResult::kError:
      *error = "cannot read " + QuotePath(path) + ": " + std::strerror(err);
      return std::nullopt;
    case ReadResult::kTooLarge:
      *error = QuotePath(path) + " is larger than " + std::to_string(kMaxIdsFileBytes) + " bytes";
      return std::nullopt;
    case ReadResult::kNotRegular:
      *error = QuotePath(path) + " is not a regular file";
      return std::nullopt;
  }
  return std::nullopt;
}

std::string CheckIdsFile(const std::string& path) {
  std::string error;
  if (!ReadIdsFile(path, &error)) return error;
  return "";
}

}  // namespace config
