#include "creatify/json_reader.h"

#include <doctest/doctest.h>

#include <cmath>
#include <string>
#include <string_view>
#include <vector>

#include "creatify/kind.h"
#include "creatify/parse.h"
#include "support/reference_job_parser.h"

namespace creatify {
namespace {

using namespace std::string_literals;

bool ReaderAccepts(std::string_view text, int max_depth = kMaxNestingDepth) {
  JsonReader reader(text, max_depth);
  JsonValue value;
  return reader.Read(&value) && reader.AtEnd();
}

JsonValue ReadOne(std::string_view text) {
  JsonReader reader(text, kMaxNestingDepth);
  JsonValue value;
  REQUIRE(reader.Read(&value));
  REQUIRE(reader.AtEnd());
  return value;
}

const KindSpec& Kind(std::string_view name) {
  const KindSpec* kind = FindKind(BuiltinKinds(), name);
  REQUIRE(kind != nullptr);
  return *kind;
}

TEST_CASE("the reader accepts what nlohmann_json accepts") {
  const std::vector<std::string> documents = {"[]",
                                              "{}",
                                              " [ 1 , 2 ]\n",
                                              "\"\\u00e9\"",
                                              "\"\\ud83d\\ude00\"",
                                              "\"a\\/b\\\\\\\"\"",
                                              "\xEF\xBB\xBF[]",  // a UTF-8 byte order mark
                                              "[1]\0junk"s,  // nlohmann_json stops at a NUL byte
                                              "-0",
                                              "0.5e-3",
                                              "1E+2",
                                              "-1.5e-999",
                                              "\"\x7F\"",
                                              "\"Caf\xC3\xA9 \xE2\x80\x93 \xF0\x9F\x98\x80\"",
                                              "true",
                                              "false",
                                              "null",
                                              "{\"a\":{\"b\":[null,true,{}]}}",
                                              "\"\\u0000\"",
                                              "1" + std::string(305, '0')};
  for (const std::string& document : documents) {
    CAPTURE(document);
    CHECK(reference::Accepts(document));
    CHECK(ReaderAccepts(document));
  }
}

TEST_CASE("the reader refuses what nlohmann_json refuses") {
  const std::vector<std::string> documents = {"",
                                              "  ",
                                              "[1,]",
                                              "{\"a\":1,}",
                                              "[1 2]",
                                              "01",
                                              "1.",
                                              ".5",
                                              "+1",
                                              "-",
                                              "1e",
                                              "1e+",
                                              "1e999",
                                              "[-1e309]",
                                              "1" + std::string(309, '0'),
                                              "\"\\ud83d\"",
                                              "\"\\ude00\"",
                                              "\"\\ud83d\\u0041\"",
                                              "\"\\x\"",
                                              "\"\\u12\"",
                                              "\"\x01\"",
                                              "\"\xC0\xAF\"",
                                              "\"\xED\xA0\x80\"",
                                              "\"\xF4\x90\x80\x80\"",
                                              "\"\xE0\x80\x80\"",
                                              "\"\xC3\"",
                                              "\"\x80\"",
                                              "\"\xFF\"",
                                              "tru",
                                              "nul",
                                              "[",
                                              "{\"a\"}",
                                              "{\"a\" 1}",
                                              "{1:2}",
                                              "\xEF\xBB[]",
                                              "[1] 2",
                                              "[1]x",
                                              "[1]\n]",
                                              "\"abc",
                                              "[\0]"s,
                                              "'a'",
                                              "NaN",
                                              "Infinity",
                                              "[1,,2]",
                                              "{,}"};
  for (const std::string& document : documents) {
    CAPTURE(document);
    CHECK_FALSE(reference::Accepts(document));
    CHECK_FALSE(ReaderAccepts(document));
  }
}

TEST_CASE("the reader refuses arrays and objects nested deeper than its limit") {
  CHECK(ReaderAccepts("[[1]]", 2));
  CHECK(ReaderAccepts("{\"a\":[1]}", 2));
  CHECK_FALSE(ReaderAccepts("[[[1]]]", 2));
  CHECK_FALSE(ReaderAccepts("[{\"a\":{}}]", 2));
}

TEST_CASE("strings: views of the text unless escaped, escapes decoded to UTF-8") {
  const JsonValue plain = ReadOne("\"Spring sale\"");
  CHECK(plain.type == JsonType::kString);
  CHECK_FALSE(plain.escaped);
  CHECK(plain.text == "Spring sale");
  std::string scratch;
  CHECK(JsonStringView(plain, &scratch).data() == plain.text.data());

  const JsonValue escaped = ReadOne(R"("a\"b\\c\/d\b\f\n\r\t\u00e9\u20ac\ud83d\ude00\u0000")");
  CHECK(escaped.escaped);
  CHECK(JsonString(escaped) == "a\"b\\c/d\b\f\n\r\t\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80\0"s);
  CHECK(JsonStringView(escaped, &scratch) == JsonString(escaped));
}

TEST_CASE("numbers: the nearest double, never -0, 0 below a double's smallest") {
  CHECK(JsonNumber(ReadOne("0.1")) == 0.1);
  CHECK(JsonNumber(ReadOne("-12.5e2")) == -1250.0);
  CHECK(JsonNumber(ReadOne("123456789012345678901234567890")) == 1.2345678901234568e29);
  CHECK(JsonNumber(ReadOne("1.7976931348623157e308")) == 1.7976931348623157e308);
  const double zero = JsonNumber(ReadOne("-0"));
  CHECK(zero == 0.0);
  CHECK_FALSE(std::signbit(zero));
  CHECK_FALSE(std::signbit(JsonNumber(ReadOne("-0.0e5"))));
  CHECK(JsonNumber(ReadOne("1e-999")) == 0.0);
  CHECK(JsonNumber(ReadOne("4e-320")) > 0.0);
}

TEST_CASE("types and their names, as nlohmann_json spells them") {
  CHECK(ReadOne("null").type == JsonType::kNull);
  CHECK(ReadOne("true").type == JsonType::kBoolean);
  CHECK(ReadOne("-3").type == JsonType::kNumber);
  CHECK(ReadOne("[1]").type == JsonType::kArray);
  CHECK(ReadOne("{}").type == JsonType::kObject);
  CHECK(JsonTypeName(JsonType::kBoolean) == "boolean");
  CHECK(JsonTypeName(JsonType::kObject) == "object");
}

TEST_CASE("a member sent twice keeps its last value, as a JSON object built whole would") {
  const ParseResult r = ParseJobList(
      Kind("aurora"), R"([{"id":"a","status":5,"status":"done","name":"x","name":"y"}])");
  REQUIRE(r.ok);
  REQUIRE(r.jobs.size() == 1);
  CHECK(r.jobs[0].status == Status::kDone);
  CHECK(r.invalid_fields.empty());
  REQUIRE(r.jobs[0].info.size() == 1);
  CHECK(r.jobs[0].info[0].second == "y");
}

TEST_CASE("keys and ids are compared with their escapes decoded") {
  const ParseResult r = ParseJobList(
      Kind("aurora"),
      R"([{"\u0069d":"a","st\u0061tus":"running"},{"id":"\u0061"},{"id":"b\u00e9"},{"id":"bé"}])");
  REQUIRE(r.ok);
  REQUIRE(r.jobs.size() == 2);
  CHECK(r.jobs[0].id == "a");
  CHECK(r.jobs[0].status == Status::kRunning);
  CHECK(r.jobs[1].id == "b\xC3\xA9");
  // The second "a" and the second "bé" are the same ids spelled otherwise.
  CHECK(r.invalid_items == 2);
}

TEST_CASE("the parser agrees with the reference on documents that stress the reader") {
  KindSpec custom = Kind("aurora");
  custom.name = "custom";
  // An info field that is also a field the parser reads for itself.
  custom.info_fields = {"status", "name", "id"};
  const std::vector<std::string> documents = {
      R"([{"id":"a","status":"done","progress":1e-999,"credits_used":-0,"duration":"12.5"}])",
      R"([{"id":"a","media":{"id":"b","status":"x"}},{"id":"b","status":["done"]},7,"x",null,[{"id":"c"}]])",
      R"([{"id":"a","status":"running","progress":"0.5","created_at":"2023-11-07T05:31:56.5+02:00"}])",
      R"([{"id":"a","progress":true,"duration":-1,"credits_used":2e9,"created_at":5,"updated_at":"x"}])",
      R"([{"id":"a","name":null,"status":null,"id":"b"},{"id":"a"},{"id":"b"}])",
      R"({"id":"a","status":"done"})",
      R"({"id":5,"status":"done","name":{"x":1}})",
      R"({"id":"","status":"d\u006fne"})",
      R"([{"id":"a","progress":1e999}])",
      R"([{"id":"a","status":"\ud800"}])",
      "[{\"id\":\"a\"}]\0{"s,
      R"("just a string")",
      R"([{"id":"a"}] [])",
  };
  for (const std::string& document : documents) {
    CAPTURE(document);
    const std::vector<const KindSpec*> kinds = {&Kind("aurora"), &Kind("lipsync"),
                                                &Kind("ads_clone"), &custom};
    for (const KindSpec* kind : kinds) {
      CAPTURE(kind->name);
      const ParseResult list = ParseJobList(*kind, document);
      const ParseResult list_reference = reference::ParseJobList(*kind, document);
      CHECK(list.ok == list_reference.ok);
      CHECK(list.jobs == list_reference.jobs);
      CHECK(list.invalid_items == list_reference.invalid_items);
      CHECK(list.invalid_fields == list_reference.invalid_fields);
      const ParseResult object = ParseJobObject(*kind, document, "a");
      const ParseResult object_reference = reference::ParseJobObject(*kind, document, "a");
      CHECK(object.ok == object_reference.ok);
      CHECK(object.jobs == object_reference.jobs);
      CHECK(object.invalid_fields == object_reference.invalid_fields);
    }
  }
}

TEST_CASE("a listing of empty objects makes no room for jobs it does not hold") {
  std::string body = "[";
  for (int i = 0; i < 100000; ++i) body += i == 0 ? "{}" : ",{}";
  body += "]";
  const ParseResult r = ParseJobList(Kind("aurora"), body);
  REQUIRE(r.ok);
  CHECK(r.jobs.empty());
  CHECK(r.invalid_items == 100000);
  // Room for one job per 64 bytes of body at most, not one per item.
  CHECK(r.jobs.capacity() <= body.size() / 64);
}

}  // namespace
}  // namespace creatify
