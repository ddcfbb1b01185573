#include "config/yaml_reader.h"

#include <cctype>
#include <filesystem>
#include <string_view>

#include "text/duration.h"
#include "text/strings.h"

namespace config {
namespace {

using std::chrono::milliseconds;

// Checks below are written out rather than as std::regex: libstdc++'s regex matcher recurses
// once per character, and a long scalar (200 KB) overflows the stack.

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

// The characters of `text` from `pos` on that `accept` takes; at least one.
template <typename Accept>
bool SkipRun(std::string_view text, std::size_t& pos, Accept accept) {
  const std::size_t start = pos;
  while (pos < text.size() && accept(text[pos])) ++pos;
  return pos > start;
}

// YAML 1.2 core schema integer: [-+]?[0-9]+
bool IsYamlInteger(std::string_view text) {
  std::size_t pos = 0;
  if (pos < text.size() && (text[pos] == '-' || text[pos] == '+')) ++pos;
  return SkipRun(text, pos, IsDigit) && pos == text.size();
}

// YAML 1.2 core schema int and float:
//   [-+]?[0-9]+ | 0o[0-7]+ | 0x[0-9a-fA-F]+
//   [-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)? | [-+]?\.(inf|Inf|INF) | \.(nan|NaN|NAN)
bool IsYamlNumber(std::string_view text) {
  if (text == ".nan" || text == ".NaN" || text == ".NAN") return true;
  std::size_t pos = 0;
  if (text.size() > 2 && text[0] == '0' && (text[1] == 'o' || text[1] == 'x')) {
    pos = 2;
    const bool octal = text[1] == 'o';
    return SkipRun(text, pos,
                   [octal](char c) {
                     return octal ? (c >= '0' && c <= '7')
                                  : std::isxdigit(static_cast<unsigned char>(c)) != 0;
                   }) &&
           pos == text.size();
  }
  if (pos < text.size() && (text[pos] == '-' || text[pos] == '+')) ++pos;
  const std::string_view rest = text.substr(pos);
  if (rest == ".inf" || rest == ".Inf" || rest == ".INF") return true;
  const bool integer_part = SkipRun(text, pos, IsDigit);
  if (pos < text.size() && text[pos] == '.') {
    ++pos;
    const bool fraction = SkipRun(text, pos, IsDigit);
    if (!integer_part && !fraction) return false;
  } else if (!integer_part) {
    return false;
  }
  if (pos < text.size() && (text[pos] == 'e' || text[pos] == 'E')) {
    ++pos;
    if (pos < text.size() && (text[pos] == '-' || text[pos] == '+')) ++pos;
    if (!SkipRun(text, pos, IsDigit)) return false;
  }
  return pos == text.size();
}

// What a scalar means, following the YAML 1.2 core schema for numbers and yaml-cpp for booleans
// (which also reads yes/no/on/off). Only plain (unquoted, untagged) scalars can be anything but
// a string: `"4"` is the string 4, `4` is the number 4.
enum class ScalarKind { kString, kNumber, kBool };

bool IsPlain(const YAML::Node& node) { return node.Tag() == "?"; }

ScalarKind Resolve(const YAML::Node& node) {
  if (!IsPlain(node)) return ScalarKind::kString;
  bool b = false;
  if (YAML::convert<bool>::decode(node, b)) return ScalarKind::kBool;
  if (IsYamlNumber(node.Scalar())) return ScalarKind::kNumber;
  return ScalarKind::kString;
}

// A map key as it appears in a key path: bare when it is a plain word, quoted otherwise.
std::string KeyName(std::string_view key) {
  bool plain = !key.empty();
  for (char c : key) plain = plain && IsIdChar(c);
  return plain ? std::string(key) : Quote(key);
}

}  // namespace

std::string Quote(std::string_view s, Cut cut_long) {
  bool cut = cut_long == Cut::kLongValues && s.size() > kMaxQuoted;
  if (cut) s = s.substr(0, kMaxQuoted);
  std::string out = "\"";
  text::AppendEscaped(out, s, text::EscapeStyle::kHexBytes);
  out += cut ? "...\"" : "\"";
  return out;
}

std::string QuotePath(std::string_view path) { return Quote(path, Cut::kNever); }

bool IsString(const YAML::Node& node) {
  return node.IsScalar() && Resolve(node) == ScalarKind::kString;
}

bool IsIdChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '_';
}

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
      // A number of thousands of digits is not repeated whole.
      return "the number " + (node.Scalar().size() > kMaxQuoted
                                  ? node.Scalar().substr(0, kMaxQuoted) + "..."
                                  : node.Scalar());
    case ScalarKind::kBool:
      return "the boolean " + node.Scalar();
    case ScalarKind::kString:
      break;
  }
  return IsPlain(node) ? Quote(node.Scalar()) : "the string " + Quote(node.Scalar());
}

bool YamlReader::Fail(const YAML::Mark& mark, std::string_view path, std::string_view what) {
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

YAML::Mark YamlReader::ValueMark(const Entry& entry) {
  if (entry.value.IsNull() || entry.value.Mark().line < 0) return entry.key_mark;
  return entry.value.Mark();
}

bool YamlReader::ForEach(const YAML::Node& map, std::string_view parent,
                         const std::function<bool(const Entry&)>& fn) {
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

bool YamlReader::ForEachItem(const Entry& list,
                             const std::function<bool(const Entry&, std::size_t)>& fn) {
  for (std::size_t i = 0; i < list.value.size(); ++i) {
    const YAML::Node node = list.value[i];
    // An empty item is marked at its list's key (see ValueMark).
    const Entry item{"", list.path + "[" + std::to_string(i) + "]",
                     node.IsNull() ? list.key_mark : node.Mark(), node};
    if (!fn(item, i)) return false;
  }
  return true;
}

bool YamlReader::ExpectMap(const Entry& entry) {
  if (entry.value.IsMap() || entry.value.IsNull()) return true;
  return Fail(ValueMark(entry), entry.path,
              "expected a map of settings, got " + Describe(entry.value));
}

bool YamlReader::UnknownKey(const Entry& entry, const std::vector<std::string_view>& known) {
  return Fail(entry.key_mark, entry.path,
              "unknown key (expected one of: " + text::Join(known) + ")");
}

bool YamlReader::ReadString(const Entry& entry, std::string* out) {
  if (IsString(entry.value)) {
    *out = entry.value.Scalar();
    return true;
  }
  return Fail(ValueMark(entry), entry.path, "expected a string, got " + Describe(entry.value));
}

std::string YamlReader::ResolveAgainstConfig(const std::string& name) const {
  std::filesystem::path resolved(name);
  if (resolved.is_relative()) resolved = std::filesystem::path(file_).parent_path() / resolved;
  return resolved.string();
}

bool YamlReader::ReadFilePath(const Entry& entry, std::string* out) {
  std::string name;
  if (!ReadString(entry, &name)) return false;
  if (name.empty()) return Fail(ValueMark(entry), entry.path, "empty file name");
  *out = ResolveAgainstConfig(name);
  return true;
}

bool YamlReader::ReadBool(const Entry& entry, bool* out) {
  if (entry.value.IsScalar() && Resolve(entry.value) == ScalarKind::kBool) {
    YAML::convert<bool>::decode(entry.value, *out);
    return true;
  }
  return Fail(ValueMark(entry), entry.path, "expected true or false, got " + Describe(entry.value));
}

bool YamlReader::ReadInt(const Entry& entry, int min, int max, int* out) {
  std::string expected =
      "expected an integer from " + std::to_string(min) + " to " + std::to_string(max);
  if (!entry.value.IsScalar() || !IsPlain(entry.value) || !IsYamlInteger(entry.value.Scalar())) {
    return Fail(ValueMark(entry), entry.path, expected + ", got " + Describe(entry.value));
  }
  const std::string& text = entry.value.Scalar();
  // Beyond 18 digits the value is out of range whatever it is, and std::stoll could overflow.
  std::size_t digits = text.size() - (text[0] == '-' || text[0] == '+' ? 1 : 0);
  long long value = digits > 18 ? std::numeric_limits<long long>::max() : std::stoll(text);
  if (value < min || value > max) {
    // A number of thousands of digits is not repeated whole.
    const std::string shown = text.size() > kMaxQuoted ? text.substr(0, kMaxQuoted) + "..." : text;
    return Fail(
        ValueMark(entry), entry.path,
        shown + " is out of range (" + std::to_string(min) + " to " + std::to_string(max) + ")");
  }
  *out = static_cast<int>(value);
  return true;
}

bool YamlReader::ReadDuration(const Entry& entry, milliseconds min, milliseconds max,
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

}  // namespace config
