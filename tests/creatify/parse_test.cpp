#include "creatify/parse.h"

#include <doctest/doctest.h>

#include <cmath>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

namespace creatify {
namespace {

using nlohmann::json;
using Info = creatify::InfoFields;
using Fields = std::vector<std::string>;

std::string ReadFixture(const std::string& name) {
  std::ifstream in(std::string(CREATIFY_SOURCE_DIR) + "/tests/testdata/creatify/" + name,
                   std::ios::binary);
  REQUIRE_MESSAGE(in.good(), "missing fixture " << name);
  std::stringstream out;
  out << in.rdbuf();
  return out.str();
}

const KindSpec& Kind(std::string_view name) {
  const KindSpec* kind = FindKind(BuiltinKinds(), name);
  REQUIRE(kind != nullptr);
  return *kind;
}

// A custom_template job with every field the parser reads set to a good value.
json GoodJob() {
  return json{{"id", "job-1"},
              {"status", "running"},
              {"progress", 50},
              {"duration", 15},
              {"credits_used", 20},
              {"created_at", "2023-11-07T05:31:56Z"},
              {"updated_at", "2023-11-07T05:41:12Z"},
              {"name", "Spring sale"},
              {"model_version", "standard"}};
}

ParseResult ParseOne(const json& object, std::string_view requested_id = "job-1") {
  return ParseJobObject(Kind("custom_template"), object.dump(), requested_id);
}

TEST_CASE("ads_clone fixture: every field the API page shows") {
  const ParseResult r = ParseJobObject(Kind("ads_clone"), ReadFixture("ads_clone_job.json"),
                                       "3c90c3cc-0d44-4b50-8888-8dd25736052a");
  REQUIRE(r.ok);
  CHECK(r.error.empty());
  CHECK(r.invalid_items == 0);
  CHECK(r.invalid_fields.empty());
  REQUIRE(r.jobs.size() == 1);
  const Job& job = r.jobs[0];
  CHECK(job.id == "3c90c3cc-0d44-4b50-8888-8dd25736052a");
  CHECK(job.status == Status::kDone);
  CHECK(job.raw_status == "done");
  CHECK_FALSE(job.progress.has_value());
  CHECK_FALSE(job.video_duration_seconds.has_value());
  CHECK(job.credits_used == 12.5);
  CHECK(job.created_at == 1699335116.0);
  CHECK(job.updated_at == 1699335672.0);
  CHECK(job.info == Info{{"aspect_ratio", "9x16"}, {"language", "en"}});
}

TEST_CASE("custom_template fixture: percentage progress, fractional and offset timestamps") {
  const ParseResult r =
      ParseJobObject(Kind("custom_template"), ReadFixture("custom_template_job.json"),
                     "9b1deb4d-3b7d-4bad-9bdd-2b0d7b3dcb6d");
  REQUIRE(r.ok);
  CHECK(r.invalid_fields.empty());
  REQUIRE(r.jobs.size() == 1);
  const Job& job = r.jobs[0];
  CHECK(job.id == "9b1deb4d-3b7d-4bad-9bdd-2b0d7b3dcb6d");
  CHECK(job.status == Status::kRunning);
  CHECK(job.progress.value_or(-1) == doctest::Approx(0.45));
  CHECK(job.video_duration_seconds == 15.0);
  CHECK(job.credits_used == 20.0);
  REQUIRE(job.created_at.has_value());
  CHECK(*job.created_at == doctest::Approx(1714557600.123456).epsilon(1e-12));
  CHECK(job.updated_at == 1714558050.0);
  CHECK(job.info == Info{{"name", "Spring sale 15s"}, {"model_version", "aurora_v1"}});
}

TEST_CASE("aurora list fixture") {
  const ParseResult r = ParseJobList(Kind("aurora"), ReadFixture("aurora_list.json"));
  REQUIRE(r.ok);
  CHECK(r.invalid_items == 0);
  CHECK(r.invalid_fields.empty());
  REQUIRE(r.jobs.size() == 2);

  const Job& done = r.jobs[0];
  CHECK(done.id == "3c90c3cc-0d44-4b50-8888-8dd25736052a");
  CHECK(done.status == Status::kDone);
  CHECK(done.progress == 1.0);
  CHECK(done.video_duration_seconds == 28.0);
  CHECK(done.credits_used == 40.0);
  CHECK(done.info == Info{{"name", "Founder intro"}});

  const Job& queued = r.jobs[1];
  CHECK(queued.id == "c2b7a4a0-8f0e-4b0a-9d4e-2f6a1c3e5b7d");
  CHECK(queued.status == Status::kInQueue);
  CHECK(queued.progress == 0.5);
  CHECK(queued.video_duration_seconds == 0.0);
  CHECK(queued.credits_used == 0.0);
  CHECK(queued.info.empty());  // "name": null
  CHECK(queued.created_at == 1714557600.0);
}

TEST_CASE("aurora list with malformed items keeps the good ones") {
  const ParseResult r = ParseJobList(Kind("aurora"), ReadFixture("aurora_list_malformed.json"));
  REQUIRE(r.ok);
  // 42, "not-a-job", null, no id, numeric id, null id, empty id, [], true.
  CHECK(r.invalid_items == 9);
  REQUIRE(r.jobs.size() == 2);
  CHECK(r.jobs[0].id == "good-1");
  CHECK(r.jobs[0].status == Status::kPending);
  CHECK(r.jobs[0].progress == 0.0);
  CHECK(r.jobs[1].id == "good-2");
  CHECK(r.jobs[1].status == Status::kUnknown);
  CHECK(r.jobs[1].raw_status == "rendering");
  CHECK(r.jobs[1].progress.value_or(-1) == doctest::Approx(0.125));
  CHECK_FALSE(r.jobs[1].credits_used.has_value());
  CHECK(r.invalid_fields == Fields{"credits_used"});
}

TEST_CASE("an empty list is a good answer with no jobs") {
  const ParseResult r = ParseJobList(Kind("aurora"), " [ ] ");
  CHECK(r.ok);
  CHECK(r.jobs.empty());
  CHECK(r.invalid_items == 0);
}

TEST_CASE("the good job parses whole, so the field cases below start from a clean state") {
  const ParseResult r = ParseOne(GoodJob());
  REQUIRE(r.ok);
  CHECK(r.invalid_fields.empty());
  REQUIRE(r.jobs.size() == 1);
  const Job& job = r.jobs[0];
  CHECK(job.id == "job-1");
  CHECK(job.status == Status::kRunning);
  CHECK(job.progress == 0.5);
  CHECK(job.video_duration_seconds == 15.0);
  CHECK(job.credits_used == 20.0);
  CHECK(job.created_at == 1699335116.0);
  CHECK(job.updated_at == 1699335672.0);
  CHECK(job.info == Info{{"name", "Spring sale"}, {"model_version", "standard"}});
}

// Whether the parsed job has `field` set, by JSON field name.
bool HasField(const Job& job, const std::string& field) {
  if (field == "status") return job.status.has_value() || !job.raw_status.empty();
  if (field == "progress") return job.progress.has_value();
  if (field == "duration") return job.video_duration_seconds.has_value();
  if (field == "credits_used") return job.credits_used.has_value();
  if (field == "created_at") return job.created_at.has_value();
  if (field == "updated_at") return job.updated_at.has_value();
  for (const auto& [name, value] : job.info) {
    if (name == field) return true;
  }
  return false;
}

const std::vector<std::string> kFields = {"status",     "progress",   "duration", "credits_used",
                                          "created_at", "updated_at", "name",     "model_version"};

TEST_CASE("a null or missing field is unset and not counted") {
  for (const std::string& field : kFields) {
    CAPTURE(field);
    json with_null = GoodJob();
    with_null[field] = nullptr;
    json missing = GoodJob();
    missing.erase(field);
    for (const json& object : {with_null, missing}) {
      const ParseResult r = ParseOne(object);
      REQUIRE(r.ok);
      REQUIRE(r.jobs.size() == 1);
      CHECK_FALSE(HasField(r.jobs[0], field));
      CHECK(r.invalid_fields.empty());
      // The other fields are untouched.
      for (const std::string& other : kFields) {
        if (other != field) CHECK(HasField(r.jobs[0], other));
      }
    }
  }
}

TEST_CASE("a field of the wrong type or value is unset and counted by name") {
  const std::vector<std::pair<std::string, std::vector<json>>> cases = {
      {"status", {5, true, json::object(), json::array({"done"})}},
      {"progress",
       {"abc", "", "  ", true, false, json::object(), json::array({0.5}), "inf", "nan", "0,5",
        "1e999", "12abc", "0x10"}},
      {"duration",
       {"abc", true, json::object(), -1, "-2", "1e999", "NaN", "15s", 1.7976931348623157e308,
        "1.7976931348623157e308", 1e7 + 1}},
      {"credits_used",
       {"abc", false, json::array(), -0.5, "-3", "inf", "12 credits", 1.7976931348623157e308,
        1e9 + 1, "1e300"}},
      {"created_at",
       {1699335116, "garbage", true, "2023-13-01T00:00:00Z", json::object(), "1999-12-31T23:59:59Z",
        "2200-01-01T00:00:00Z", "0001-01-01T00:00:00Z", "9999-12-31T23:59:59Z",
        "2023/11/07 05:31:56", "07 Nov 2023 05:31:56 GMT", "1699335116"}},
      {"updated_at",
       {1699335672.5, "", "2023-02-30T00:00:00Z", json::array(), "2023-11-07", "05:31:56"}},
      {"name", {5, true, json::object(), json::array({"x"})}},
      {"model_version", {1.5, false}},
  };
  for (const auto& [field, values] : cases) {
    for (const json& value : values) {
      CAPTURE(field);
      CAPTURE(value.dump());
      json object = GoodJob();
      object[field] = value;
      const ParseResult r = ParseOne(object);
      REQUIRE(r.ok);
      REQUIRE(r.jobs.size() == 1);
      CHECK_FALSE(HasField(r.jobs[0], field));
      CHECK(r.invalid_fields == Fields{field});
      CHECK(r.jobs[0].invalid_fields == Fields{field});
      CHECK(r.jobs[0].id == "job-1");
    }
  }
}

TEST_CASE("each bad field in an item is counted, in a list too") {
  json item = GoodJob();
  item["progress"] = "soon";
  item["created_at"] = 7;
  json other = item;
  other["id"] = "job-2";
  const ParseResult r = ParseJobList(Kind("custom_template"), json::array({item, other}).dump());
  REQUIRE(r.ok);
  CHECK(r.jobs.size() == 2);
  CHECK(r.invalid_items == 0);
  CHECK(r.invalid_fields == Fields{"progress", "created_at", "progress", "created_at"});
}

TEST_CASE("an empty info string is left out without being counted") {
  json object = GoodJob();
  object["name"] = "";
  const ParseResult r = ParseOne(object);
  REQUIRE(r.jobs.size() == 1);
  CHECK(r.jobs[0].info == Info{{"model_version", "standard"}});
  CHECK(r.invalid_fields.empty());
}

TEST_CASE("info fields come out in the kind's order, not the body's") {
  const ParseResult r = ParseJobObject(
      Kind("ads_clone"), R"({"language": "de", "id": "a", "aspect_ratio": "1x1"})", "a");
  REQUIRE(r.jobs.size() == 1);
  CHECK(r.jobs[0].info == Info{{"aspect_ratio", "1x1"}, {"language", "de"}});
}

TEST_CASE("ParseJobObject: the job is filed under the id it was asked for") {
  SUBCASE("missing") {
    json object = GoodJob();
    object.erase("id");
    const ParseResult r = ParseOne(object, "requested");
    REQUIRE(r.jobs.size() == 1);
    CHECK(r.jobs[0].id == "requested");
    CHECK(r.invalid_fields.empty());
  }
  SUBCASE("null") {
    json object = GoodJob();
    object["id"] = nullptr;
    const ParseResult r = ParseOne(object, "requested");
    REQUIRE(r.jobs.size() == 1);
    CHECK(r.jobs[0].id == "requested");
    CHECK(r.invalid_fields.empty());
  }
  SUBCASE("a number") {
    json object = GoodJob();
    object["id"] = 12345;
    const ParseResult r = ParseOne(object, "requested");
    REQUIRE(r.jobs.size() == 1);
    CHECK(r.jobs[0].id == "requested");
    CHECK(r.invalid_fields == Fields{"id"});
  }
  SUBCASE("empty") {
    json object = GoodJob();
    object["id"] = "";
    const ParseResult r = ParseOne(object, "requested");
    REQUIRE(r.jobs.size() == 1);
    CHECK(r.jobs[0].id == "requested");
    CHECK(r.invalid_fields == Fields{"id"});
  }
  SUBCASE("present and spelled differently (upper case)") {
    json object = GoodJob();
    object["id"] = "JOB-1";
    const ParseResult r = ParseOne(object);
    REQUIRE(r.jobs.size() == 1);
    CHECK(r.jobs[0].id == "job-1");
    CHECK(r.invalid_fields.empty());
  }
}

TEST_CASE("progress: number or numeric string, on the kind's scale, clamped") {
  // custom_template declares percent, ai_short fraction.
  const std::vector<std::tuple<std::string, json, double>> cases = {
      {"custom_template", 0, 0.0},
      {"custom_template", 45, 0.45},
      {"custom_template", 100, 1.0},
      {"custom_template", 150, 1.0},
      {"custom_template", -5, 0.0},
      {"custom_template", "45", 0.45},
      {"custom_template", " 12.5 ", 0.125},
      {"custom_template", "\t100\n", 1.0},
      {"custom_template", "1e1", 0.1},
      {"custom_template", 0.8, 0.008},
      {"custom_template", "1", 0.01},
      {"custom_template", 1.5, 0.015},
      {"ai_short", 0, 0.0},
      {"ai_short", 0.25, 0.25},
      {"ai_short", 1, 1.0},
      {"ai_short", 45, 1.0},
      {"ai_short", -0.2, 0.0},
      {"ai_short", "0.5", 0.5},
      {"ai_short", ".5", 0.5},
      {"ai_short", "0.999", 0.999},
  };
  for (const auto& [kind, value, expected] : cases) {
    CAPTURE(kind);
    CAPTURE(value.dump());
    json object = GoodJob();
    object["progress"] = value;
    const ParseResult r = ParseJobObject(Kind(kind), object.dump(), "job-1");
    REQUIRE(r.jobs.size() == 1);
    REQUIRE(r.jobs[0].progress.has_value());
    CHECK(*r.jobs[0].progress == doctest::Approx(expected));
    CHECK(r.invalid_fields.empty());
  }
}

TEST_CASE("a kind without progress ignores a progress field, whatever its value") {
  for (const std::string kind : {"ads_clone", "text_to_speech", "product_to_video"}) {
    CAPTURE(kind);
    json object = GoodJob();
    object["progress"] = "not a number";
    const ParseResult r = ParseJobObject(Kind(kind), object.dump(), "job-1");
    REQUIRE(r.jobs.size() == 1);
    CHECK_FALSE(r.jobs[0].progress.has_value());
    CHECK(r.invalid_fields.empty());
  }
}

TEST_CASE("status words map through the kind row, and other words are unknown") {
  const std::vector<std::tuple<std::string, std::string, Status>> cases = {
      {"ai_short", "pending", Status::kPending},
      {"ai_short", "in_queue", Status::kInQueue},
      {"lipsync", "running", Status::kRunning},
      {"lipsync_v2", "failed", Status::kFailed},
      {"link_to_video", "done", Status::kDone},
      {"text_to_speech", "rejected", Status::kRejected},
      {"aurora", "initializing", Status::kUnknown},
      {"product_to_video", "initializing", Status::kPending},
      {"product_to_video", "image_generating", Status::kRunning},
      {"product_to_video", "image_generated", Status::kRunning},
      {"product_to_video", "video_generating", Status::kRunning},
      {"product_to_video", "video_generated", Status::kDone},
      {"product_to_video", "failed", Status::kFailed},
      {"product_to_video", "done", Status::kUnknown},
      {"product_to_video", "running", Status::kUnknown},
      {"product_to_video", "Video_Generated", Status::kUnknown},
  };
  for (const auto& [kind, word, expected] : cases) {
    CAPTURE(kind);
    CAPTURE(word);
    json object = GoodJob();
    object["status"] = word;
    const ParseResult r = ParseJobObject(Kind(kind), object.dump(), "job-1");
    REQUIRE(r.jobs.size() == 1);
    CHECK(r.jobs[0].status == expected);
    CHECK(r.jobs[0].raw_status == word);
  }
}

TEST_CASE("every built-in row: path, list, scale and labels as the README's kind table says") {
  struct Row {
    std::string name, section, path;
    bool list;
    creatify::ProgressScale scale;
    std::vector<std::string> info;
  };
  using creatify::ProgressScale;
  const std::vector<Row> rows = {
      {"ads_clone",
       "ads_clone",
       "/api/ads_clone/",
       false,
       ProgressScale::kNone,
       {"aspect_ratio", "language"}},
      {"custom_template",
       "custom_template_jobs",
       "/api/custom_template_jobs/",
       false,
       ProgressScale::kPercent,
       {"name", "model_version"}},
      {"aurora", "aurora", "/api/aurora/", true, ProgressScale::kFraction, {"name"}},
      {"lipsync", "lipsyncs", "/api/lipsyncs/", true, ProgressScale::kPercent, {"aspect_ratio"}},
      {"lipsync_v2", "lipsyncs_v2", "/api/lipsyncs_v2/", true, ProgressScale::kPercent, {"name"}},
      {"ai_short",
       "ai_shorts",
       "/api/ai_shorts/",
       true,
       ProgressScale::kFraction,
       {"name", "aspect_ratio", "style"}},
      {"ai_editing",
       "ai_editing",
       "/api/ai_editing/",
       true,
       ProgressScale::kFraction,
       {"name", "aspect_ratio", "editing_style"}},
      {"link_to_video",
       "link_to_videos",
       "/api/link_to_videos/",
       true,
       ProgressScale::kPercent,
       {"name", "aspect_ratio", "language"}},
      {"text_to_speech", "text_to_speech", "/api/text_to_speech/", true, ProgressScale::kNone, {}},
      {"product_to_video",
       "product_to_videos",
       "/api/product_to_videos/",
       true,
       ProgressScale::kNone,
       {"type", "aspect_ratio"}},
  };
  REQUIRE(BuiltinKinds().size() == rows.size());
  for (std::size_t i = 0; i < rows.size(); ++i) {
    const KindSpec& kind = BuiltinKinds()[i];
    CAPTURE(kind.name);
    CHECK(kind.name == rows[i].name);
    CHECK(kind.config_key == rows[i].section);
    CHECK(kind.path == rows[i].path);
    CHECK(kind.list == rows[i].list);
    CHECK(kind.max_ids_per_request == (kind.list ? 100 : 0));
    CHECK(kind.progress_scale == rows[i].scale);
    CHECK(kind.info_fields == rows[i].info);
    CHECK(kind.on_by_default == (i < 3));
  }
}

TEST_CASE("NormaliseProgress reads the declared scale, never guesses it from the value") {
  using creatify::ProgressScale;
  CHECK(NormaliseProgress(0.3, ProgressScale::kFraction) == doctest::Approx(0.3));
  CHECK(NormaliseProgress(30, ProgressScale::kPercent) == doctest::Approx(0.3));
  // The old guess read 0.8 on a percent kind as 80 %.
  CHECK(NormaliseProgress(0.8, ProgressScale::kPercent) == doctest::Approx(0.008));
  CHECK(NormaliseProgress(30, ProgressScale::kFraction) == 1.0);
  CHECK(NormaliseProgress(100, ProgressScale::kPercent) == 1.0);
  CHECK(NormaliseProgress(1000, ProgressScale::kPercent) == 1.0);
  CHECK(NormaliseProgress(-1, ProgressScale::kFraction) == 0.0);
  CHECK(NormaliseProgress(-1, ProgressScale::kPercent) == 0.0);
  CHECK(NormaliseProgress(std::numeric_limits<double>::infinity(), ProgressScale::kFraction) ==
        1.0);
  CHECK(NormaliseProgress(-std::numeric_limits<double>::infinity(), ProgressScale::kPercent) ==
        0.0);
  CHECK_FALSE(NormaliseProgress(std::nan(""), ProgressScale::kFraction).has_value());
  CHECK_FALSE(NormaliseProgress(0.5, ProgressScale::kNone).has_value());
}

TEST_CASE("numbers as strings for duration and credits") {
  json object = GoodJob();
  object["duration"] = " 28 ";
  object["credits_used"] = "12.75";
  const ParseResult r = ParseOne(object);
  REQUIRE(r.jobs.size() == 1);
  CHECK(r.jobs[0].video_duration_seconds == 28.0);
  CHECK(r.jobs[0].credits_used == 12.75);
  CHECK(r.invalid_fields.empty());
}

TEST_CASE("status words") {
  const std::vector<std::pair<std::string, Status>> cases = {
      {"pending", Status::kPending}, {"in_queue", Status::kInQueue},
      {"running", Status::kRunning}, {"failed", Status::kFailed},
      {"done", Status::kDone},       {"rejected", Status::kRejected},
      {"Done", Status::kUnknown},    {"image_generating", Status::kUnknown},
      {"", Status::kUnknown},
  };
  for (const auto& [word, status] : cases) {
    CAPTURE(word);
    json object = GoodJob();
    object["status"] = word;
    const ParseResult r = ParseOne(object);
    REQUIRE(r.jobs.size() == 1);
    CHECK(r.jobs[0].status == status);
    CHECK(r.jobs[0].raw_status == word);
    CHECK(r.invalid_fields.empty());
  }
}

TEST_CASE("bodies that are not JSON") {
  const std::vector<std::string> bodies = {
      "",
      "   \n",
      "<!DOCTYPE html><html><body>502 Bad Gateway</body></html>",
      R"({"id": "x", "status": "runn)",
      R"([{"id": "x"},)",
      "{'id': 'x'}",
      "upstream connect error",
      std::string("\x00\xff\xfe", 3),
  };
  for (const std::string& body : bodies) {
    CAPTURE(body);
    const ParseResult object = ParseJobObject(Kind("aurora"), body, "x");
    CHECK_FALSE(object.ok);
    CHECK(object.jobs.empty());
    CHECK(object.error.rfind("not JSON", 0) == 0);
    const ParseResult list = ParseJobList(Kind("aurora"), body);
    CHECK_FALSE(list.ok);
    CHECK(list.jobs.empty());
    CHECK(list.error.rfind("not JSON", 0) == 0);
  }
  CHECK(ParseJobList(Kind("aurora"), "").error == "not JSON: empty body");
  // An out-of-range number literal makes the whole document unreadable, not just the field.
  CHECK_FALSE(ParseJobObject(Kind("aurora"), R"({"id": "a", "duration": 1e999})", "a").ok);
  // The excerpt is bounded and printable, so an HTML page cannot flood a log line.
  const std::string html = "<html>\n" + std::string(5000, 'x') + "</html>";
  const std::string error = ParseJobList(Kind("aurora"), html).error;
  CHECK(error.size() < 100);
  CHECK(error.find('\n') == std::string::npos);
}

TEST_CASE("the wrong JSON shape") {
  SUBCASE("an object where a list is expected") {
    const ParseResult r = ParseJobList(Kind("aurora"), R"({"detail": "Not found."})");
    CHECK_FALSE(r.ok);
    CHECK(r.error == "expected an array, got object");
    CHECK(r.jobs.empty());
  }
  SUBCASE("a list where an object is expected") {
    const ParseResult r = ParseJobObject(Kind("aurora"), R"([{"id": "a"}])", "a");
    CHECK_FALSE(r.ok);
    CHECK(r.error == "expected an object, got array");
    CHECK(r.jobs.empty());
  }
  SUBCASE("scalars") {
    for (const char* body : {"42", "\"text\"", "null", "true"}) {
      CAPTURE(body);
      CHECK_FALSE(ParseJobObject(Kind("aurora"), body, "a").ok);
      CHECK_FALSE(ParseJobList(Kind("aurora"), body).ok);
    }
    CHECK(ParseJobList(Kind("aurora"), "null").error == "expected an array, got null");
  }
}

TEST_CASE("ParseTimestamp: accepted forms") {
  const std::vector<std::pair<std::string, double>> cases = {
      {"2023-11-07T05:31:56Z", 1699335116},
      {"2023-11-07t05:31:56z", 1699335116},
      {"2023-11-07T05:31:56", 1699335116},
      {"2023-11-07 05:31:56", 1699335116},
      {"2023-11-07 05:31:56Z", 1699335116},
      {"2023-11-07T05:31:56.5Z", 1699335116.5},
      {"2023-11-07T05:31:56.250Z", 1699335116.25},
      {"2023-11-07T05:31:56.123456Z", 1699335116.123456},
      {"2023-11-07T05:31:56.123456789123", 1699335116.123456789},
      {"2023-11-07T07:31:56+02:00", 1699335116},
      {"2023-11-07T07:31:56+0200", 1699335116},
      {"2023-11-07T00:01:56-05:30", 1699335116},
      {"2023-11-07T00:01:56-0530", 1699335116},
      {"2023-11-07T05:31:56+00:00", 1699335116},
      {"2023-11-07T05:31:56.5+01:00", 1699331516.5},
      {"1970-01-01T00:00:00Z", 0},
      {"1969-12-31T23:59:59Z", -1},
      {"2000-03-01T00:00:00Z", 951868800},
      {"2024-02-29T23:59:59Z", 1709251199},
      {"2000-02-29T00:00:00Z", 951782400},
  };
  for (const auto& [text, expected] : cases) {
    CAPTURE(text);
    const auto seconds = ParseTimestamp(text);
    REQUIRE(seconds.has_value());
    CHECK(*seconds == doctest::Approx(expected).epsilon(1e-15));
  }
}

TEST_CASE("ParseTimestamp: rejected forms") {
  for (const char* text : {
           "",
           "garbage",
           "2023-13-01T00:00:00Z",  // month 13
           "2023-00-10T00:00:00Z",  // month 0
           "2023-02-30T00:00:00Z",  // Feb 30
           "2023-02-29T00:00:00Z",  // not a leap year
           "2100-02-29T00:00:00Z",  // century, not a leap year
           "2023-04-31T00:00:00Z",
           "2023-11-00T00:00:00Z",
           "2023-11-07T24:00:00Z",
           "2023-11-07T05:60:00Z",
           "2023-11-07T05:31:60Z",
           "2023-11-07",
           "2023-11-07T05:31",
           "2023-11-07T05:31:56.",
           "2023-11-07T05:31:56.Z",
           "2023-11-07T05:31:56Zjunk",
           "2023-11-07T05:31:56 ",
           " 2023-11-07T05:31:56Z",
           "2023-11-07T05:31:56+2",
           "2023-11-07T05:31:56+02",
           "2023-11-07T05:31:56+02:0",
           "2023-11-07T05:31:56+24:00",
           "2023-11-07T05:31:56+02:60",
           "2023-11-07T05:31:56+02:00:00",
           "2023-11-07T05:31:56 UTC",
           "2023-1-07T05:31:56Z",
           "2023-11-07X05:31:56Z",
           "2023/11/07T05:31:56Z",
           "23-11-07T05:31:56Z",
           "2023-11-07T5:31:56Z",
           "1699335116",
       }) {
    CAPTURE(text);
    CHECK_FALSE(ParseTimestamp(text).has_value());
  }
}

TEST_CASE("ParseRemainingCredits: good bodies") {
  const std::vector<std::pair<std::string, double>> cases = {
      {R"({"remaining_credits": 123.5})", 123.5},
      {R"({"remaining_credits": 0})", 0},
      {R"({"remaining_credits": 5000})", 5000},
      {R"({"remaining_credits": "42"})", 42},
      {R"({"remaining_credits": " 7.25 ", "other": [1, 2]})", 7.25},
      {R"({"remaining_credits": -3})", -3},
  };
  for (const auto& [body, expected] : cases) {
    CAPTURE(body);
    std::string error = "untouched";
    const auto credits = ParseRemainingCredits(body, &error);
    REQUIRE(credits.has_value());
    CHECK(*credits == expected);
    CHECK(error == "untouched");
  }
}

TEST_CASE("ParseRemainingCredits: bad bodies") {
  for (const char* body : {
           "",
           "<html>Service Unavailable</html>",
           R"({"remaining_credits": 1)",
           "[]",
           "42",
           "{}",
           R"({"detail": "Invalid token."})",
           R"({"remaining_credits": null})",
           R"({"remaining_credits": "lots"})",
           R"({"remaining_credits": "inf"})",
           R"({"remaining_credits": true})",
           R"({"remaining_credits": {"value": 1}})",
       }) {
    CAPTURE(body);
    std::string error;
    CHECK_FALSE(ParseRemainingCredits(body, &error).has_value());
    CHECK_FALSE(error.empty());
    CHECK_FALSE(ParseRemainingCredits(body, nullptr).has_value());
  }
}

}  // namespace
}  // namespace creatify

namespace creatify {
namespace {

TEST_CASE("values at the bounds are kept, so real jobs lose nothing") {
  json object = GoodJob();
  object["credits_used"] = kMaxCreditsPerJob;
  object["duration"] = kMaxDurationSeconds;
  object["created_at"] = "2000-01-01T00:00:00Z";
  object["updated_at"] = "2199-12-31T23:59:59Z";
  const ParseResult r = ParseOne(object);
  REQUIRE(r.jobs.size() == 1);
  CHECK(r.invalid_fields.empty());
  CHECK(r.jobs[0].credits_used == kMaxCreditsPerJob);
  CHECK(r.jobs[0].video_duration_seconds == kMaxDurationSeconds);
  CHECK(r.jobs[0].created_at == kMinTimestamp);
  CHECK(r.jobs[0].updated_at == kMaxTimestamp - 1);
}

TEST_CASE("an out-of-range field leaves the rest of the job") {
  json object = GoodJob();
  object["duration"] = 1.7976931348623157e308;
  object["credits_used"] = 1.7976931348623157e308;
  const ParseResult r = ParseOne(object);
  REQUIRE(r.jobs.size() == 1);
  CHECK(r.invalid_fields == Fields{"duration", "credits_used"});
  CHECK(r.jobs[0].status == Status::kRunning);
  CHECK(r.jobs[0].progress == 0.5);
  CHECK(r.jobs[0].created_at.has_value());
}

TEST_CASE("an id twice in one list: the first is kept, the second counted as an invalid item") {
  json first = GoodJob();
  json second = GoodJob();
  second["status"] = "done";
  json other = GoodJob();
  other["id"] = "job-2";
  const ParseResult r =
      ParseJobList(Kind("custom_template"), json::array({first, second, other}).dump());
  REQUIRE(r.ok);
  REQUIRE(r.jobs.size() == 2);
  CHECK(r.jobs[0].id == "job-1");
  CHECK(r.jobs[0].status == Status::kRunning);
  CHECK(r.jobs[1].id == "job-2");
  CHECK(r.invalid_items == 1);
}

TEST_CASE("deeply nested bodies are refused before they are parsed") {
  const std::string deep_array = std::string(100000, '[') + std::string(100000, ']');
  const std::string deep_object = [] {
    std::string body;
    for (int i = 0; i < 100000; ++i) body += "{\"a\":";
    return body + "1" + std::string(100000, '}');
  }();
  for (const std::string& body : {deep_array, deep_object}) {
    const ParseResult list = ParseJobList(Kind("aurora"), body);
    CHECK_FALSE(list.ok);
    CHECK(list.error.find("nested deeper than 64") != std::string::npos);
    CHECK_FALSE(ParseJobObject(Kind("ads_clone"), body, "x").ok);
    std::string error;
    CHECK_FALSE(ParseRemainingCredits(body, &error));
    CHECK(error.find("nested deeper") != std::string::npos);
  }
  // A job nested inside its item, but within the limit, still parses; brackets in strings do
  // not count.
  json item = GoodJob();
  item["name"] = std::string(1000, '[');
  json nested = json::array();
  for (int i = 0; i < 50; ++i) nested = json::array({nested});
  item["extra"] = nested;
  const ParseResult r = ParseJobList(Kind("custom_template"), json::array({item}).dump());
  REQUIRE(r.ok);
  CHECK(r.jobs.size() == 1);
}

TEST_CASE("NestedDeeperThan") {
  CHECK_FALSE(NestedDeeperThan("[[1]]", 2));
  CHECK(NestedDeeperThan("[[[1]]]", 2));
  CHECK_FALSE(NestedDeeperThan("[\"[[[[\"]", 2));
  CHECK_FALSE(NestedDeeperThan("[\"\\\"[[[\"]", 2));
  CHECK(NestedDeeperThan("{\"a\":{\"b\":[1]}}", 2));
  size_t items = 99;
  CHECK_FALSE(NestedDeeperThan(R"([{"a":{"b":1}},{"c":"{"},[{}],{}])", 4, &items));
  CHECK(items == 3);
}

TEST_CASE("remaining credits out of range are refused") {
  std::string error;
  CHECK_FALSE(ParseRemainingCredits(R"({"remaining_credits": 1.7976931348623157e308})", &error));
  CHECK(error == "remaining_credits out of range");
  CHECK(ParseRemainingCredits(R"({"remaining_credits": -12.5})", &error) == -12.5);
}

}  // namespace
}  // namespace creatify
