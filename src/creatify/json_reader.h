// A pull reader of JSON text for the API's job answers: it walks arrays and objects in place,
// hands out strings and numbers as views of the text, and checks and skips what the caller does
// not want without building it. A 100,000-job listing is read without one allocation per value.
//
// It accepts exactly the documents nlohmann_json accepts (a leading UTF-8 BOM; strict UTF-8 and
// paired \u surrogates in strings; no number literal beyond a double's range), which the
// job_parser fuzz target checks against nlohmann_json itself. Not thread-safe; the text must
// outlive the reader and every JsonValue read from it.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace creatify {

enum class JsonType { kNull, kBoolean, kNumber, kString, kArray, kObject };

// "null", "boolean", "number", "string", "array", "object": the words nlohmann_json's
// type_name() uses, so that error texts read the same whichever parser read the body.
std::string_view JsonTypeName(JsonType type);

// One value as read. `text` is a string's text between its quotes (still escaped when `escaped`),
// a number's literal, or true/false/null; it is empty for an array or an object, which were
// checked and skipped.
struct JsonValue {
  JsonType type = JsonType::kNull;
  std::string_view text;
  bool escaped = false;
};

class JsonReader {
 public:
  // Arrays and objects may nest `max_depth` deep; deeper is an error like any other.
  JsonReader(std::string_view text, int max_depth);

  // The type of the next value, after whitespace; nullopt when the next byte cannot start one.
  std::optional<JsonType> Peek();

  // Reads the next value whole: a scalar into *out, an array or an object checked and skipped.
  // False when the text is not JSON there.
  bool Read(JsonValue* out);

  // Consume the '[' or '{' that Peek() said comes next. False when it does not, or when it
  // nests too deep.
  bool EnterArray();
  bool EnterObject();

  // In an array: *more is true when another element follows (its ',' consumed; pass first =
  // true before the first element), false once the closing ']' is consumed.
  bool NextElement(bool first, bool* more);
  // In an object: reads the next member's key and its ':' into *key, with *more true; or
  // consumes the closing '}' with *more false.
  bool NextMember(bool first, JsonValue* key, bool* more);

  // Nothing but whitespace is left.
  bool AtEnd();

 private:
  void SkipWhitespace();
  bool ReadString(JsonValue* out);
  bool ReadNumber(JsonValue* out);
  bool ReadLiteral(std::string_view word, JsonType type, JsonValue* out);
  bool SkipContainer();
  bool Enter(JsonType type);
  bool Close(char c);

  std::string_view text_;
  std::size_t pos_ = 0;
  int depth_ = 0;
  int max_depth_;
};

// A string value's text with its escapes decoded. For a value a JsonReader read.
std::string JsonString(const JsonValue& value);

// A string value's text: a view of the document when it has no escapes, else decoded into
// *scratch and a view of that.
std::string_view JsonStringView(const JsonValue& value, std::string* scratch);

// A number value as a double: the nearest one, and 0 (never -0) for a literal below a double's
// smallest. For a value a JsonReader read, which refuses one beyond a double's largest.
double JsonNumber(const JsonValue& value);

}  // namespace creatify
