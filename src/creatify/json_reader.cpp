#include "creatify/json_reader.h"

#include <charconv>
#include <cstdint>
#include <limits>
#include <system_error>

namespace creatify {
namespace {

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// The four hex digits at text[pos..pos+4), or -1.
int ReadHex4(std::string_view text, std::size_t pos) {
  if (text.size() - pos < 4) return -1;
  int value = 0;
  for (std::size_t i = 0; i < 4; ++i) {
    const int digit = HexValue(text[pos + i]);
    if (digit < 0) return -1;
    value = value * 16 + digit;
  }
  return value;
}

bool InRange(unsigned char c, unsigned char low, unsigned char high) {
  return c >= low && c <= high;
}

// The length of the well-formed UTF-8 sequence starting at text[pos] (a byte >= 0x80), or 0.
// The table is Unicode's (no overlong forms, no surrogates, nothing above U+10FFFF), as
// nlohmann_json checks it.
std::size_t Utf8SequenceLength(std::string_view text, std::size_t pos) {
  const auto byte = [&](std::size_t i) -> unsigned char {
    return pos + i < text.size() ? static_cast<unsigned char>(text[pos + i]) : 0;
  };
  const unsigned char lead = byte(0);
  if (InRange(lead, 0xC2, 0xDF)) return InRange(byte(1), 0x80, 0xBF) ? 2 : 0;
  unsigned char low = 0x80, high = 0xBF;
  if (lead == 0xE0) low = 0xA0;
  if (lead == 0xED) high = 0x9F;
  if (InRange(lead, 0xE0, 0xEF)) {
    return InRange(byte(1), low, high) && InRange(byte(2), 0x80, 0xBF) ? 3 : 0;
  }
  if (lead == 0xF0) low = 0x90;
  if (lead == 0xF4) high = 0x8F;
  if (InRange(lead, 0xF0, 0xF4)) {
    return InRange(byte(1), low, high) && InRange(byte(2), 0x80, 0xBF) &&
                   InRange(byte(3), 0x80, 0xBF)
               ? 4
               : 0;
  }
  return 0;
}

void AppendUtf8(std::string& out, std::uint32_t code) {
  if (code < 0x80) {
    out += static_cast<char>(code);
  } else if (code < 0x800) {
    out += static_cast<char>(0xC0 | (code >> 6));
    out += static_cast<char>(0x80 | (code & 0x3F));
  } else if (code < 0x10000) {
    out += static_cast<char>(0xE0 | (code >> 12));
    out += static_cast<char>(0x80 | ((code >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (code & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (code >> 18));
    out += static_cast<char>(0x80 | ((code >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((code >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (code & 0x3F));
  }
}

// Whether a number literal (already checked against the grammar) that std::from_chars finds out
// of a double's range is too large, rather than too small. Its order of magnitude decides:
// from_chars only fails for one beyond 1e308 or below 1e-323.
bool TooLarge(std::string_view literal) {
  std::size_t pos = literal[0] == '-' ? 1 : 0;
  const std::size_t int_start = pos;
  while (pos < literal.size() && IsDigit(literal[pos])) ++pos;
  const std::size_t int_digits = pos - int_start;
  std::int64_t order = 0;
  if (literal[int_start] != '0') {
    order = static_cast<std::int64_t>(int_digits) - 1;
  } else {
    order = -1;
    if (pos < literal.size() && literal[pos] == '.') {
      ++pos;
      while (pos < literal.size() && literal[pos] == '0') {
        --order;
        ++pos;
      }
    }
  }
  const std::size_t e = literal.find_first_of("eE");
  if (e != std::string_view::npos) {
    std::size_t i = e + 1;
    const bool negative = literal[i] == '-';
    if (literal[i] == '-' || literal[i] == '+') ++i;
    std::int64_t exponent = 0;
    // Saturates: a magnitude past a billion orders is as out of range as one past 309.
    for (; i < literal.size(); ++i) {
      if (exponent < 1'000'000'000) exponent = exponent * 10 + (literal[i] - '0');
    }
    order += negative ? -exponent : exponent;
  }
  return order >= 0;
}

}  // namespace

std::string_view JsonTypeName(JsonType type) {
  switch (type) {
    case JsonType::kNull:
      return "null";
    case JsonType::kBoolean:
      return "boolean";
    case JsonType::kNumber:
      return "number";
    case JsonType::kString:
      return "string";
    case JsonType::kArray:
      return "array";
    case JsonType::kObject:
      return "object";
  }
  return "unknown";
}

JsonReader::JsonReader(std::string_view text, int max_depth) : text_(text), max_depth_(max_depth) {
  if (text_.substr(0, 3) == "\xEF\xBB\xBF") pos_ = 3;
}

void JsonReader::SkipWhitespace() {
  while (pos_ < text_.size()) {
    const char c = text_[pos_];
    if (c != ' ' && c != '\n' && c != '\r' && c != '\t') return;
    ++pos_;
  }
}

std::optional<JsonType> JsonReader::Peek() {
  SkipWhitespace();
  if (pos_ >= text_.size()) return std::nullopt;
  switch (text_[pos_]) {
    case '{':
      return JsonType::kObject;
    case '[':
      return JsonType::kArray;
    case '"':
      return JsonType::kString;
    case 't':
    case 'f':
      return JsonType::kBoolean;
    case 'n':
      return JsonType::kNull;
    default:
      if (text_[pos_] == '-' || IsDigit(text_[pos_])) return JsonType::kNumber;
      return std::nullopt;
  }
}

bool JsonReader::Read(JsonValue* out) {
  const auto type = Peek();
  if (!type) return false;
  switch (*type) {
    case JsonType::kString:
      return ReadString(out);
    case JsonType::kNumber:
      return ReadNumber(out);
    case JsonType::kNull:
      return ReadLiteral("null", JsonType::kNull, out);
    case JsonType::kBoolean:
      return text_[pos_] == 't' ? ReadLiteral("true", JsonType::kBoolean, out)
                                : ReadLiteral("false", JsonType::kBoolean, out);
    case JsonType::kArray:
    case JsonType::kObject:
      *out = JsonValue{*type, {}, false};
      return SkipContainer();
  }
  return false;
}

bool JsonReader::ReadLiteral(std::string_view word, JsonType type, JsonValue* out) {
  if (text_.substr(pos_, word.size()) != word) return false;
  *out = JsonValue{type, text_.substr(pos_, word.size()), false};
  pos_ += word.size();
  return true;
}

bool JsonReader::ReadString(JsonValue* out) {
  const std::size_t start = ++pos_;  // past the opening quote
  bool escaped = false;
  const std::size_t size = text_.size();
  while (pos_ < size) {
    const auto c = static_cast<unsigned char>(text_[pos_]);
    if (c >= 0x20 && c < 0x80 && c != '"' && c != '\\') {
      ++pos_;
      continue;
    }
    if (c == '"') {
      *out = JsonValue{JsonType::kString, text_.substr(start, pos_ - start), escaped};
      ++pos_;
      return true;
    }
    if (c < 0x20) return false;
    if (c >= 0x80) {
      const std::size_t length = Utf8SequenceLength(text_, pos_);
      if (length == 0) return false;
      pos_ += length;
      continue;
    }
    // A backslash.
    escaped = true;
    if (++pos_ >= size) return false;
    const char e = text_[pos_++];
    if (e == '"' || e == '\\' || e == '/' || e == 'b' || e == 'f' || e == 'n' || e == 'r' ||
        e == 't') {
      continue;
    }
    if (e != 'u') return false;
    const int code = ReadHex4(text_, pos_);
    if (code < 0) return false;
    pos_ += 4;
    if (code >= 0xDC00 && code <= 0xDFFF) return false;
    if (code >= 0xD800 && code <= 0xDBFF) {
      // A high surrogate must be followed by an escaped low one.
      if (text_.substr(pos_, 2) != "\\u") return false;
      const int low = ReadHex4(text_, pos_ + 2);
      if (low < 0xDC00 || low > 0xDFFF) return false;
      pos_ += 6;
    }
  }
  return false;
}

bool JsonReader::ReadNumber(JsonValue* out) {
  const std::size_t start = pos_;
  const std::size_t size = text_.size();
  if (text_[pos_] == '-') ++pos_;
  if (pos_ >= size || !IsDigit(text_[pos_])) return false;
  if (text_[pos_] == '0') {
    ++pos_;
  } else {
    while (pos_ < size && IsDigit(text_[pos_])) ++pos_;
  }
  // Only an exponent or a very long integer can be beyond a double's range.
  bool may_overflow = pos_ - start > 300;
  if (pos_ < size && text_[pos_] == '.') {
    ++pos_;
    if (pos_ >= size || !IsDigit(text_[pos_])) return false;
    while (pos_ < size && IsDigit(text_[pos_])) ++pos_;
  }
  if (pos_ < size && (text_[pos_] == 'e' || text_[pos_] == 'E')) {
    may_overflow = true;
    ++pos_;
    if (pos_ < size && (text_[pos_] == '+' || text_[pos_] == '-')) ++pos_;
    if (pos_ >= size || !IsDigit(text_[pos_])) return false;
    while (pos_ < size && IsDigit(text_[pos_])) ++pos_;
  }
  const std::string_view literal = text_.substr(start, pos_ - start);
  if (may_overflow) {
    // A literal that rounds to infinity is refused as a whole document, as nlohmann_json does.
    double value = 0;
    const auto [ptr, ec] = std::from_chars(literal.data(), literal.data() + literal.size(), value);
    if (ec == std::errc::result_out_of_range && TooLarge(literal)) return false;
  }
  *out = JsonValue{JsonType::kNumber, literal, false};
  return true;
}

bool JsonReader::SkipContainer() {
  const bool array = text_[pos_] == '[';
  if (array ? !EnterArray() : !EnterObject()) return false;
  JsonValue ignored;
  for (bool first = true;; first = false) {
    bool more = false;
    if (array ? !NextElement(first, &more) : !NextMember(first, &ignored, &more)) return false;
    if (!more) return true;
    if (!Read(&ignored)) return false;
  }
}

bool JsonReader::EnterArray() { return Enter(JsonType::kArray); }

bool JsonReader::EnterObject() { return Enter(JsonType::kObject); }

bool JsonReader::Enter(JsonType type) {
  if (Peek() != type || depth_ >= max_depth_) return false;
  ++depth_;
  ++pos_;
  return true;
}

bool JsonReader::Close(char c) {
  SkipWhitespace();
  if (pos_ >= text_.size() || text_[pos_] != c) return false;
  ++pos_;
  --depth_;
  return true;
}

bool JsonReader::NextElement(bool first, bool* more) {
  SkipWhitespace();
  if (pos_ >= text_.size()) return false;
  if (text_[pos_] == ']') {
    *more = false;
    return Close(']');
  }
  if (!first) {
    if (text_[pos_] != ',') return false;
    ++pos_;
  }
  *more = true;
  return true;
}

bool JsonReader::NextMember(bool first, JsonValue* key, bool* more) {
  SkipWhitespace();
  if (pos_ >= text_.size()) return false;
  if (text_[pos_] == '}') {
    *more = false;
    return Close('}');
  }
  if (!first) {
    if (text_[pos_] != ',') return false;
    ++pos_;
    SkipWhitespace();
  }
  if (pos_ >= text_.size() || text_[pos_] != '"' || !ReadString(key)) return false;
  SkipWhitespace();
  if (pos_ >= text_.size() || text_[pos_] != ':') return false;
  ++pos_;
  *more = true;
  return true;
}

bool JsonReader::AtEnd() {
  SkipWhitespace();
  // nlohmann_json takes a NUL byte for the end of its input, and ignores what follows it.
  return pos_ >= text_.size() || text_[pos_] == '\0';
}

std::string JsonString(const JsonValue& value) {
  if (!value.escaped) return std::string(value.text);
  std::string out;
  out.reserve(value.text.size());
  const std::string_view text = value.text;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '\\') {
      out += text[i];
      continue;
    }
    const char e = text[++i];
    switch (e) {
      case 'b':
        out += '\b';
        break;
      case 'f':
        out += '\f';
        break;
      case 'n':
        out += '\n';
        break;
      case 'r':
        out += '\r';
        break;
      case 't':
        out += '\t';
        break;
      case 'u': {
        auto code = static_cast<std::uint32_t>(ReadHex4(text, i + 1));
        i += 4;
        if (code >= 0xD800 && code <= 0xDBFF) {
          const auto low = static_cast<std::uint32_t>(ReadHex4(text, i + 3));
          code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00);
          i += 6;
        }
        AppendUtf8(out, code);
        break;
      }
      default:  // '"', '\\', '/'
        out += e;
    }
  }
  return out;
}

std::string_view JsonStringView(const JsonValue& value, std::string* scratch) {
  if (!value.escaped) return value.text;
  *scratch = JsonString(value);
  return *scratch;
}

double JsonNumber(const JsonValue& value) {
  double number = 0;
  const auto [ptr, ec] =
      std::from_chars(value.text.data(), value.text.data() + value.text.size(), number);
  if (ec != std::errc() || number == 0) return 0.0;
  return number;
}

}  // namespace creatify
