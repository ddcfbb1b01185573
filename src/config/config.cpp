#include "config/config.h"

#include <fcntl.h>
#include <unistd.h>
#include <yaml-cpp/yaml.h>

#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <limits>
#include <regex>
#include <utility>

#include "creatify/base_url.h"
#include "creatify/kind.h"
#include "text/duration.h"
#include "text/strings.h"

namespace config {
namespace {

using std::chrono::milliseconds;

constexpr std::string_view kDefaultOrdering = "-created_at";
constexpr milliseconds kMinTimeout{1};
constexpr milliseconds kMaxTimeout{10 * 60 * 1000};
constexpr milliseconds kMinPollInterval{100};
constexpr milliseconds kMaxPollInterval{24 * 60 * 60 * 1000};
constexpr int kMinConcurrency = 1;
constexpr int kMaxConcurrency = 64;
// Guards against being handed a device or a huge file by mistake.
constexpr std::size_t kMaxConfigBytes = 1 << 20;
constexpr std::size_t kMaxCredentialBytes = 4096;
// Values longer than this are cut in messages, to keep them on one readable line. Paths are never
// cut: a message must say exactly which file it means.
constexpr std::size_t kMaxQuoted = 80;

// ---- Small text helpers -------------------------------------------------------------------------

bool IsIdChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '_';
}

enum class Cut { kLongValues, kNever };

// A value in double quotes, escaped so that a message stays on one line; cut after kMaxQuoted
// characters unless `cut_long` is Cut::kNever.
std::string Quote(std::string_view s, Cut cut_long = Cut::kLongValues) {
  static const char kHex[] = "0123456789abcdef";
  std::string out = "\"";
  bool cut = cut_long == Cut::kLongValues && s.size() > kMaxQuoted;
  if (cut) s = s.substr(0, kMaxQuoted);
  for (char c : s) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (text::IsControl(c)) {
          out += "\\x";
          out += kHex[static_cast<unsigned char>(c) >> 4];
          out += kHex[static_cast<unsigned char>(c) & 0xf];
        } else {
          out += c;
        }
    }
  }
  out += cut ? "...\"" : "\"";
  return out;
}

// A map key as it appears in a key path: bare when it is a plain word, quoted otherwise.
std::string QuotePath(std::string_view path) { return Quote(path, Cut::kNever); }

std::string KeyName(std::string_view key) {
  bool plain = !key.empty();
  for (char c : key) plain = plain && IsIdChar(c);
  return plain ? std::string(key) : Quote(key);
}

// ---- Reading files ------------------------------------------------------------------------------

enum class ReadResult { kOk, kError, kTooLarge };

// POSIX reads rather than iostreams: they report why a read failed (errno), including EISDIR.
ReadResult ReadFile(const std::string& path, std::size_t max_bytes, std::string* out, int* err) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    *err = errno;
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

// ---- YAML scalar resolution ---------------------------------------------------------------------

// What a scalar means, following the YAML 1.2 core schema for numbers and yaml-cpp for booleans
// (which also reads yes/no/on/off). Only plain (unquoted, untagged) scalars can be anything but
// a string: `"4"` is the string 4, `4` is the number 4.
enum class ScalarKind { kString, kNumber, kBool };

bool IsPlain(const YAML::Node& node) { return node.Tag() == "?"; }

ScalarKind Resolve(const YAML::Node& node) {
  if (!IsPlain(node)) return ScalarKind::kString;
  bool b = false;
  if (YAML::convert<bool>::decode(node, b)) return ScalarKind::kBool;
  static const std::regex kNumber(
      R"([-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+|[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?)"
      R"(|[-+]?\.(inf|Inf|INF)|\.(nan|NaN|NAN))");
  if (std::regex_match(node.Scalar(), kNumber)) return ScalarKind::kNumber;
  return ScalarKind::kString;
}

// How a node is named in "expected X, got Y".
std::string Describe(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Map:
      return "a map";
    case YAML::NodeType::Sequence:
      return "a list";
    case YAML::NodeType::Scalar:
      break;
    default:
      return "no value";
  }
  switch (Resolve(node)) {
    case ScalarKind::kNumber:
      return "the number " + node.Scalar();
    case ScalarKind::kBool:
      return "the boolean " + node.Scalar();
    case ScalarKind::kString:
      break;
  }
  return IsPlain(node) ? Quote(node.Scalar()) : "the string " + Quote(node.Scalar());
}

// ---- The parser ---------------------------------------------------------------------------------

// One key: value pair of a map, with the dotted path of the key for messages.
struct Entry {
  std::string key;
  std::string path;
  YAML::Mark key_mark;
  YAML::Node value;
};

// A credential file key that was set, kept until the whole document has been read so that
// structural errors are reported first, in document order.
struct CredentialFile {
  std::string path;
  std::string key_path;
  YAML::Mark mark;
};

class Parser {
 public:
  Parser(std::string file, EnvLookup env) : file_(std::move(file)), env_(env) {}

  bool Parse(const YAML::Node& root, Config* config);
  const std::string& error() const { return error_; }

 private:
  // Sets the one-line error; returns false so that callers can `return Fail(...)`.
  bool Fail(const YAML::Mark& mark, std::string_view path, std::string_view what);
  // Where to point for a problem with an entry's value: the value itself, or the key when the
  // value is empty (yaml-cpp marks an empty value at the next token, which may be lines below).
  static YAML::Mark ValueMark(const Entry& entry);

  // Calls fn(entry) for every pair of a map node (a null node is an empty map), after rejecting
  // non-scalar and duplicate keys. Stops at the first false.
  template <typename Fn>
  bool ForEach(const YAML::Node& map, std::string_view parent, Fn&& fn);
  bool ExpectMap(const Entry& entry);
  bool UnknownKey(const Entry& entry, const std::vector<std::string_view>& known);

  bool ReadString(const Entry& entry, std::string* out);
  bool ReadBool(const Entry& entry, bool* out);
  bool ReadInt(const Entry& entry, int min, int max, int* out);
  bool ReadDuration(const Entry& entry, milliseconds min, milliseconds max, milliseconds* out);
  bool ReadIds(const Entry& entry, std::vector<std::string>* out);
  bool ReadOrdering(const Entry& entry, std::string* out);
  bool ReadBaseUrl(const Entry& entry, std::string* out);

  bool ParseApi(const Entry& entry, Config* config);
  bool ParseKind(const Entry& entry, const creatify::KindSpec& kind, KindConfig* out);
  bool ResolveCredentials(Config* config);
  bool ResolveCredential(const std::optional<CredentialFile>& file, const char* env_name,
                         std::string_view what, std::string_view file_key, std::string* out);

  std::string file_;
  EnvLookup env_;
  std::string error_;
  std::optional<YAML::Mark> api_mark_;
  std::optional<CredentialFile> api_id_file_;
  std::optional<CredentialFile> api_key_file_;
};

bool Parser::Fail(const YAML::Mark& mark, std::string_view path, std::string_view what) {
  int line = mark.line >= 0 ? mark.line + 1 : 1;
  int column = mark.column >= 0 ? mark.column + 1 : 1;
  error_ = file_ + ":" + std::to_string(line) + ":" + std::to_string(column) + ": ";
  if (!path.empty()) {
    error_ += path;
    error_ += ": ";
  }
  error_ += what;
  return false;
}

YAML::Mark Parser::ValueMark(const Entry& entry) {
  if (entry.value.IsNull() || entry.value.Mark().line < 0) return entry.key_mark;
  return entry.value.Mark();
}

template <typename Fn>
bool Parser::ForEach(const YAML::Node& map, std::string_view parent, Fn&& fn) {
  if (map.IsNull()) return true;
  std::map<std::string, int, std::less<>> seen;  // key -> 1-based line
  // yaml-cpp's iterator hands out a temporary pair: copy the nodes (cheap handles) out of it.
  for (auto it = map.begin(); it != map.end(); ++it) {
    const YAML::Node key = it->first;
    std::string prefix = parent.empty() ? "" : std::string(parent) + ".";
    if (!key.IsScalar()) {
      return Fail(key.Mark(), parent, "a key must be a plain word, got " + Describe(key));
    }
    Entry entry{key.Scalar(), prefix + KeyName(key.Scalar()), key.Mark(), it->second};
    auto [pos, inserted] = seen.emplace(entry.key, entry.key_mark.line + 1);
    if (!inserted) {
      return Fail(entry.key_mark, entry.path,
                  "duplicate key (first at line " + std::to_string(pos->second) + ")");
    }
    if (!fn(entry)) return false;
  }
  return true;
}

bool Parser::ExpectMap(const Entry& entry) {
  if (entry.value.IsMap() || entry.value.IsNull()) return true;
  return Fail(ValueMark(entry), entry.path,
              "expected a map of settings, got " + Describe(entry.value));
}

bool Parser::UnknownKey(const Entry& entry, const std::vector<std::string_view>& known) {
  return Fail(entry.key_mark, entry.path,
              "unknown key (expected one of: " + text::Join(known) + ")");
}

bool Parser::ReadString(const Entry& entry, std::string* out) {
  if (entry.value.IsScalar() && Resolve(entry.value) == ScalarKind::kString) {
    *out = entry.value.Scalar();
    return true;
  }
  return Fail(ValueMark(entry), entry.path, "expected a string, got " + Describe(entry.value));
}

bool Parser::ReadBool(const Entry& entry, bool* out) {
  if (entry.value.IsScalar() && Resolve(entry.value) == ScalarKind::kBool) {
    YAML::convert<bool>::decode(entry.value, *out);
    return true;
  }
  return Fail(ValueMark(entry), entry.path, "expected true or false, got " + Describe(entry.value));
}

bool Parser::ReadInt(const Entry& entry, int min, int max, int* out) {
  std::string expected =
      "expected an integer from " + std::to_string(min) + " to " + std::to_string(max);
  static const std::regex kInteger(R"([-+]?[0-9]+)");
  if (!entry.value.IsScalar() || !IsPlain(entry.value) ||
      !std::regex_match(entry.value.Scalar(), kInteger)) {
    return Fail(ValueMark(entry), entry.path, expected + ", got " + Describe(entry.value));
  }
  const std::string& text = entry.value.Scalar();
  // Beyond 9 digits the value is out of range whatever it is, and std::stol could overflow.
  std::size_t digits = text.size() - (text[0] == '-' || text[0] == '+' ? 1 : 0);
  long value = digits > 9 ? std::numeric_limits<long>::max() : std::stol(text);
  if (value < min || value > max) {
    return Fail(
        ValueMark(entry), entry.path,
        text + " is out of range (" + std::to_string(min) + " to " + std::to_string(max) + ")");
  }
  *out = static_cast<int>(value);
  return true;
}

bool Parser::ReadDuration(const Entry& entry, milliseconds min, milliseconds max,
                          milliseconds* out) {
  if (!entry.value.IsScalar()) {
    return Fail(ValueMark(entry), entry.path,
                "expected a duration (e.g. 500ms, 10s, 1m30s), got " + Describe(entry.value));
  }
  const std::string& text = entry.value.Scalar();
  auto duration = text::ParseDuration(text);
  if (!duration) {
    return Fail(ValueMark(entry), entry.path,
                "invalid duration " + Quote(text) + " (expected e.g. 500ms, 10s, 1m30s)");
  }
  if (*duration < min) {
    return Fail(ValueMark(entry), entry.path,
                text + " is too short (minimum " + text::FormatDuration(min) + ")");
  }
  if (*duration > max) {
    return Fail(ValueMark(entry), entry.path,
                text + " is too long (maximum " + text::FormatDuration(max) + ")");
  }
  *out = *duration;
  return true;
}

bool Parser::ReadIds(const Entry& entry, std::vector<std::string>* out) {
  out->clear();
  if (entry.value.IsNull()) return true;
  if (!entry.value.IsSequence()) {
    return Fail(ValueMark(entry), entry.path,
                "expected a list of job ids, got " + Describe(entry.value));
  }
  std::map<std::string, std::size_t, std::less<>> seen;  // id -> index
  for (std::size_t i = 0; i < entry.value.size(); ++i) {
    const YAML::Node item = entry.value[i];
    std::string path = entry.path + "[" + std::to_string(i) + "]";
    Entry item_entry{"", path, item.IsNull() ? entry.key_mark : item.Mark(), item};
    std::string id;
    if (!item.IsScalar() || Resolve(item) != ScalarKind::kString) {
      return Fail(
          ValueMark(item_entry), path,
          "expected a job id (a string; quote ids that look like numbers), got " + Describe(item));
    }
    id = item.Scalar();
    if (id.empty()) return Fail(ValueMark(item_entry), path, "empty job id");
    for (char c : id) {
      if (!IsIdChar(c)) {
        return Fail(
            ValueMark(item_entry), path,
            "invalid job id " + Quote(id) + " (only letters, digits, \"-\" and \"_\" are allowed)");
      }
    }
    auto [pos, inserted] = seen.emplace(id, i);
    if (!inserted) {
      return Fail(ValueMark(item_entry), path,
                  "duplicate job id " + Quote(id) + " (first at " + entry.path + "[" +
                      std::to_string(pos->second) + "])");
    }
    out->push_back(std::move(id));
  }
  return true;
}

bool Parser::ReadOrdering(const Entry& entry, std::string* out) {
  std::string text;
  if (!ReadString(entry, &text)) return false;
  // Django REST framework's ordering: field names, each optionally descending, comma-separated.
  static const std::regex kOrdering(R"(-?[A-Za-z0-9_]+(,-?[A-Za-z0-9_]+)*)");
  if (!std::regex_match(text, kOrdering)) {
    return Fail(ValueMark(entry), entry.path,
                "invalid ordering " + Quote(text) +
                    " (expected a field name, optionally after \"-\" for descending, e.g. "
                    "-created_at)");
  }
  *out = std::move(text);
  return true;
}

bool Parser::ReadBaseUrl(const Entry& entry, std::string* out) {
  std::string text;
  if (!ReadString(entry, &text)) return false;
  creatify::BaseUrl url;
  std::string why = creatify::ParseBaseUrl(text, &url);
  if (why.empty()) {
    *out = url.Normalized();
    return true;
  }
  // A URL with user information may hold a password: do not repeat it.
  std::string shown = text.find('@') == std::string::npos ? " " + Quote(text) : "";
  return Fail(ValueMark(entry), entry.path, "invalid URL" + shown + ": " + why);
}

bool Parser::ParseApi(const Entry& api, Config* config) {
  api_mark_ = api.key_mark;
  if (!ExpectMap(api)) return false;
  static const std::vector<std::string_view> kKnown = {"base_url", "api_id_file", "api_key_file",
                                                       "timeout", "max_concurrency"};
  return ForEach(api.value, api.path, [&](const Entry& entry) {
    if (entry.key == "base_url") return ReadBaseUrl(entry, &config->base_url);
    if (entry.key == "timeout") {
      return ReadDuration(entry, kMinTimeout, kMaxTimeout, &config->timeout);
    }
    if (entry.key == "max_concurrency") {
      return ReadInt(entry, kMinConcurrency, kMaxConcurrency, &config->max_concurrency);
    }
    if (entry.key == "api_id_file" || entry.key == "api_key_file") {
      std::string file;
      if (!ReadString(entry, &file)) return false;
      if (file.empty()) return Fail(ValueMark(entry), entry.path, "empty file name");
      // Like Prometheus, relative to the config file, so the result does not depend on the
      // working directory.
      std::filesystem::path resolved(file);
      if (resolved.is_relative()) resolved = std::filesystem::path(file_).parent_path() / resolved;
      auto& slot = entry.key == "api_id_file" ? api_id_file_ : api_key_file_;
      slot = CredentialFile{resolved.string(), entry.path, ValueMark(entry)};
      return true;
    }
    return UnknownKey(entry, kKnown);
  });
}

bool Parser::ParseKind(const Entry& section, const creatify::KindSpec& kind, KindConfig* out) {
  if (!ExpectMap(section)) return false;
  std::vector<std::string_view> known = {"enabled", "ids"};
  if (kind.list) known.push_back("ordering");
  return ForEach(section.value, section.path, [&](const Entry& entry) {
    if (entry.key == "enabled") return ReadBool(entry, &out->enabled);
    if (entry.key == "ids") return ReadIds(entry, &out->ids);
    if (entry.key == "ordering") {
      if (kind.list) return ReadOrdering(entry, &out->ordering);
      return Fail(entry.key_mark, entry.path,
                  "not allowed here: " + std::string(kind.config_key) +
                      " jobs are read one by one by id, not listed");
    }
    return UnknownKey(entry, known);
  });
}

bool Parser::ResolveCredential(const std::optional<CredentialFile>& file, const char* env_name,
                               std::string_view what, std::string_view file_key, std::string* out) {
  std::string raw;
  if (file) {
    int err = 0;
    switch (ReadFile(file->path, kMaxCredentialBytes, &raw, &err)) {
      case ReadResult::kOk:
        break;
      case ReadResult::kError:
        return Fail(file->mark, file->key_path,
                    "cannot read " + QuotePath(file->path) + ": " + std::strerror(err));
      case ReadResult::kTooLarge:
        return Fail(file->mark, file->key_path,
                    QuotePath(file->path) + " is larger than " +
                        std::to_string(kMaxCredentialBytes) + " bytes");
    }
    std::string_view value = text::Trim(raw);
    if (value.empty()) return Fail(file->mark, file->key_path, QuotePath(file->path) + " is empty");
    for (char c : value) {
      if (text::IsControl(c)) {
        return Fail(file->mark, file->key_path,
                    QuotePath(file->path) +
                        " holds control characters, which cannot be sent in an HTTP header");
      }
    }
    *out = std::string(value);
    return true;
  }

  YAML::Mark mark = api_mark_.value_or(YAML::Mark());
  std::optional<std::string> env_value;
  if (env_ != nullptr) {
    env_value = env_(env_name);
  } else if (const char* v = std::getenv(env_name)) {
    env_value = v;
  }
  std::string_view value = env_value ? text::Trim(*env_value) : std::string_view();
  if (value.empty()) {
    return Fail(mark, "api",
                "no " + std::string(what) + ": set the environment variable " + env_name +
                    " or api." + std::string(file_key));
  }
  for (char c : value) {
    if (text::IsControl(c)) {
      return Fail(mark, "api",
                  std::string("the environment variable ") + env_name +
                      " holds control characters, which cannot be sent in an HTTP header");
    }
  }
  *out = std::string(value);
  return true;
}

bool Parser::ResolveCredentials(Config* config) {
  return ResolveCredential(api_id_file_, "CREATIFY_API_ID", "API ID", "api_id_file",
                           &config->api_id) &&
         ResolveCredential(api_key_file_, "CREATIFY_API_KEY", "API key", "api_key_file",
                           &config->api_key);
}

bool Parser::Parse(const YAML::Node& root, Config* config) {
  if (!root.IsMap() && !root.IsNull()) {
    return Fail(root.Mark(), "",
                "expected a map of settings at the top level, got " + Describe(root));
  }
  std::vector<std::string_view> known = {"api", "poll_interval", "per_job_metrics"};
  for (const auto& kind : creatify::Kinds()) known.push_back(kind.config_key);

  bool ok = ForEach(root, "", [&](const Entry& entry) {
    if (entry.key == "api") return ParseApi(entry, config);
    if (entry.key == "poll_interval") {
      return ReadDuration(entry, kMinPollInterval, kMaxPollInterval, &config->poll_interval);
    }
    if (entry.key == "per_job_metrics") return ReadBool(entry, &config->per_job_metrics);
    for (const auto& kind : creatify::Kinds()) {
      if (entry.key == kind.config_key) {
        return ParseKind(entry, kind, &config->kinds.find(kind.name)->second);
      }
    }
    return UnknownKey(entry, known);
  });
  return ok && ResolveCredentials(config);
}

}  // namespace

std::map<std::string, KindConfig, std::less<>> DefaultKinds() {
  std::map<std::string, KindConfig, std::less<>> kinds;
  for (const auto& kind : creatify::Kinds()) {
    KindConfig section;
    if (kind.list) section.ordering = kDefaultOrdering;
    kinds.emplace(kind.name, std::move(section));
  }
  return kinds;
}

bool Config::KindActive(std::string_view kind) const {
  const creatify::KindSpec* spec = creatify::FindKind(kind);
  auto it = kinds.find(kind);
  if (spec == nullptr || it == kinds.end()) return false;
  return it->second.enabled && (spec->list || !it->second.ids.empty());
}

std::optional<Config> LoadConfig(const std::string& path, std::string* error, EnvLookup env) {
  std::string ignored;
  if (error == nullptr) error = &ignored;
  std::string text;
  int err = 0;
  switch (ReadFile(path, kMaxConfigBytes, &text, &err)) {
    case ReadResult::kOk:
      break;
    case ReadResult::kError:
      *error = path + ": cannot read: " + std::strerror(err);
      return std::nullopt;
    case ReadResult::kTooLarge:
      *error = path + ": cannot read: larger than " + std::to_string(kMaxConfigBytes) + " bytes";
      return std::nullopt;
  }

  // yaml-cpp reports every problem by throwing; nothing of it leaves this function.
  try {
    std::vector<YAML::Node> documents = YAML::LoadAll(text);
    Parser parser(path, env);
    for (std::size_t i = 1; i < documents.size(); ++i) {
      if (!documents[i].IsNull()) {
        YAML::Mark mark = documents[i].Mark();
        *error = path + ":" + std::to_string(mark.line + 1) + ":" +
                 std::to_string(mark.column + 1) + ": only one YAML document is allowed";
        return std::nullopt;
      }
    }
    Config config;
    config.path = path;
    if (!parser.Parse(documents.empty() ? YAML::Node() : documents[0], &config)) {
      *error = parser.error();
      return std::nullopt;
    }
    return config;
  } catch (const YAML::Exception& e) {
    if (e.mark.is_null()) {
      *error = path + ": " + e.msg;
    } else {
      *error = path + ":" + std::to_string(e.mark.line + 1) + ":" +
               std::to_string(e.mark.column + 1) + ": " + e.msg;
    }
  } catch (const std::exception& e) {
    *error = path + ": " + e.what();
  }
  return std::nullopt;
}

}  // namespace config
