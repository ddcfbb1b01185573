// Reading the config's YAML with positions: typed reads of a map's entries that fail with one
// "<file>:<line>:<column>: <key.path>: <what is wrong>" message, and the quoting that keeps such
// a message on one line. Used by the config's parser only (yaml-cpp stays behind this header
// and config.h). Not thread-safe: one reader per LoadConfig call.
#pragma once

#include <yaml-cpp/yaml.h>

#include <chrono>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace config {

// Values longer than this are cut in messages, to keep them on one readable line. Paths are never
// cut: a message must say exactly which file it means.
constexpr std::size_t kMaxQuoted = 80;

enum class Cut { kLongValues, kNever };

// A value in double quotes, escaped so that a message stays on one line; cut after kMaxQuoted
// characters unless `cut_long` is Cut::kNever.
std::string Quote(std::string_view s, Cut cut_long = Cut::kLongValues);
// A file's path in double quotes, escaped, never cut.
std::string QuotePath(std::string_view path);

// Letters, digits, '-' and '_': a job id's characters, and a key that needs no quotes.
bool IsIdChar(char c);

// A scalar that is a string: quoted, tagged, or plain but neither a number nor a boolean.
bool IsString(const YAML::Node& node);

// How a node is named in "expected X, got Y": "a map", "the number 4", "the string \"4\"", ...
std::string Describe(const YAML::Node& node);

// One key: value pair of a map, with the dotted path of the key for messages.
struct Entry {
  std::string key;
  std::string path;
  YAML::Mark key_mark;
  YAML::Node value;
};

class YamlReader {
 public:
  explicit YamlReader(std::string file) : file_(std::move(file)) {}

  // The config file's path, as given to LoadConfig.
  const std::string& file() const { return file_; }
  // The message of the first failure.
  const std::string& error() const { return error_; }

  // Sets the one-line error; returns false so that callers can `return Fail(...)`.
  bool Fail(const YAML::Mark& mark, std::string_view path, std::string_view what);
  // Where to point for a problem with an entry's value: the value itself, or the key when the
  // value is empty (yaml-cpp marks an empty value at the next token, which may be lines below).
  static YAML::Mark ValueMark(const Entry& entry);

  // Calls fn(entry) for every pair of a map node (a null node is an empty map), after rejecting
  // non-scalar and duplicate keys. Stops at the first false.
  bool ForEach(const YAML::Node& map, std::string_view parent,
               const std::function<bool(const Entry&)>& fn);
  // Calls fn(item, index) for every item of a list node (`list.value` must be a sequence); an
  // item's path is "<list path>[index]". Stops at the first false.
  bool ForEachItem(const Entry& list, const std::function<bool(const Entry&, std::size_t)>& fn);
  bool ExpectMap(const Entry& entry);
  bool UnknownKey(const Entry& entry, const std::vector<std::string_view>& known);

  bool ReadString(const Entry& entry, std::string* out);
  // A file name from the file, resolved against the folder of file() when relative, as
  // Prometheus does, so that the result does not depend on the working directory.
  std::string ResolveAgainstConfig(const std::string& name) const;
  // A non-empty file name, resolved with ResolveAgainstConfig.
  bool ReadFilePath(const Entry& entry, std::string* out);
  bool ReadBool(const Entry& entry, bool* out);
  bool ReadInt(const Entry& entry, int min, int max, int* out);
  bool ReadDuration(const Entry& entry, std::chrono::milliseconds min,
                    std::chrono::milliseconds max, std::chrono::milliseconds* out);

 private:
  std::string file_;
  std::string error_;
};

}  // namespace config
