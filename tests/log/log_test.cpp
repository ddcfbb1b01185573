// The log lines: logfmt and JSON, escaping, level names and the level threshold.
#include "log/log.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <string>

#include "support/capture_stderr.h"

namespace {

using logging::Format;
using logging::Level;
using testsupport::CaptureStderr;

constexpr std::string_view kTs = "2025-11-22T08:00:00.000Z";

std::string Logfmt(std::string_view msg, std::initializer_list<logging::Field> fields = {}) {
  return logging::FormatLine(Format::kLogfmt, Level::kInfo, kTs, msg, fields);
}

std::string Json(std::string_view msg, std::initializer_list<logging::Field> fields = {}) {
  return logging::FormatLine(Format::kJson, Level::kInfo, kTs, msg, fields);
}

// Restores the defaults (info, logfmt) when a test that changed them ends.
struct DefaultsOnExit {
  ~DefaultsOnExit() { logging::Configure(Level::kInfo, Format::kLogfmt); }
};

}  // namespace

TEST_CASE("logfmt: plain values bare, the others quoted") {
  CHECK(Logfmt("Listening", {{"address", "127.0.0.1:10487"}, {"path", "/metrics"}}) ==
        "ts=2025-11-22T08:00:00.000Z level=info msg=Listening address=127.0.0.1:10487 "
        "path=/metrics");
  CHECK(Logfmt("Poll failed", {{"error", "a=b"}, {"empty", ""}}) ==
        "ts=2025-11-22T08:00:00.000Z level=info msg=\"Poll failed\" error=\"a=b\" empty=\"\"");
}

TEST_CASE("JSON: one object, the fields in order, every value a string") {
  const std::string line = Json("Listening", {{"address", "127.0.0.1:10487"}, {"n", "3"}});
  CHECK(line == R"({"ts":"2025-11-22T08:00:00.000Z","level":"info","msg":"Listening",)"
                R"("address":"127.0.0.1:10487","n":"3"})");
  CHECK(nlohmann::json::parse(line)["n"] == "3");
}

TEST_CASE("a field with an empty name is left out in both formats, whatever its value") {
  CHECK(Logfmt("Read", {{"", "brand-a"}, {"kind", "aurora"}, {"", ""}}) ==
        "ts=2025-11-22T08:00:00.000Z level=info msg=Read kind=aurora");
  CHECK(Json("Read", {{"kind", "aurora"}, {"", "x"}}) ==
        R"({"ts":"2025-11-22T08:00:00.000Z","level":"info","msg":"Read","kind":"aurora"})");
  // An empty value is still a field.
  CHECK(Logfmt("Read", {{"workspace", ""}}) ==
        "ts=2025-11-22T08:00:00.000Z level=info msg=Read workspace=\"\"");
}

TEST_CASE("quotes, backslashes, newlines and control characters are escaped in both formats") {
  const std::string value = std::string("say \"hi\"\\ then\nnext\rline\ttab\x01 bell\x07 del\x7f");
  const std::string escaped = R"("say \"hi\"\\ then\nnext\rline\ttab\u0001 bell\u0007 del\u007f")";
  CHECK(Logfmt("m", {{"v", value}}) == "ts=2025-11-22T08:00:00.000Z level=info msg=m v=" + escaped);
  const std::string json = Json("m", {{"v", value}});
  CHECK(json.find("\"v\":" + escaped + "}") != std::string::npos);
  // Each is still one line, and the JSON reads back to the very value.
  CHECK(Logfmt("m", {{"v", value}}).find('\n') == std::string::npos);
  CHECK(json.find('\n') == std::string::npos);
  CHECK(nlohmann::json::parse(json)["v"] == value);
}

TEST_CASE("a NUL byte inside a value is escaped, not the end of the value") {
  const std::string value("a\0b", 3);
  CHECK(Logfmt("m", {{"v", value}}).ends_with(R"(v="a\u0000b")"));
  CHECK(Json("m", {{"v", value}}).ends_with(R"("v":"a\u0000b"})"));
}

TEST_CASE("non-ASCII text passes through as UTF-8, quoted in logfmt") {
  CHECK(Logfmt("m", {{"v", "Grüße"}}).ends_with("v=\"Grüße\""));
  const std::string json = Json("m", {{"v", "Grüße"}});
  CHECK(json.ends_with("\"v\":\"Grüße\"}"));
  CHECK(nlohmann::json::parse(json)["v"] == "Grüße");
}

TEST_CASE("level and format names") {
  CHECK(logging::ParseLevel("debug") == Level::kDebug);
  CHECK(logging::ParseLevel("info") == Level::kInfo);
  CHECK(logging::ParseLevel("warn") == Level::kWarn);
  CHECK(logging::ParseLevel("error") == Level::kError);
  for (const char* bad : {"", "INFO", "warning", "trace", "info "}) {
    CAPTURE(bad);
    CHECK_FALSE(logging::ParseLevel(bad).has_value());
  }
  for (Level level : {Level::kDebug, Level::kInfo, Level::kWarn, Level::kError}) {
    CHECK(logging::ParseLevel(logging::LevelName(level)) == level);
    CHECK(logging::FormatLine(Format::kLogfmt, level, kTs, "m", {})
              .find(" level=" + std::string(logging::LevelName(level)) + " ") != std::string::npos);
  }
  CHECK(logging::FormatName(Format::kLogfmt) == "logfmt");
  CHECK(logging::FormatName(Format::kJson) == "json");
  CHECK(logging::ParseFormat("logfmt") == Format::kLogfmt);
  CHECK(logging::ParseFormat("json") == Format::kJson);
  CHECK_FALSE(logging::ParseFormat("JSON").has_value());
  CHECK_FALSE(logging::ParseFormat("text").has_value());
}

TEST_CASE("lines below the configured level are not written") {
  DefaultsOnExit restore;
  logging::Configure(Level::kWarn, Format::kLogfmt);
  CHECK_FALSE(logging::Enabled(Level::kDebug));
  CHECK_FALSE(logging::Enabled(Level::kInfo));
  CHECK(logging::Enabled(Level::kWarn));
  CHECK(logging::Enabled(Level::kError));
  const std::string out = CaptureStderr([] {
    logging::Debug("not shown debug");
    logging::Info("not shown info");
    logging::Warn("shown warn", {{"k", "v"}});
    logging::Error("shown error");
  });
  CHECK(out.find("not shown") == std::string::npos);
  CHECK(out.find("level=warn msg=\"shown warn\" k=v\n") != std::string::npos);
  CHECK(out.find("level=error msg=\"shown error\"\n") != std::string::npos);
  CHECK(std::count(out.begin(), out.end(), '\n') == 2);
}

TEST_CASE("Log writes whole lines in the configured format, with a UTC timestamp") {
  DefaultsOnExit restore;
  logging::Configure(Level::kDebug, Format::kJson);
  const std::string out = CaptureStderr([] { logging::Debug("hello", {{"k", "v"}}); });
  REQUIRE(out.ends_with("\n"));
  const auto line = nlohmann::json::parse(out.substr(0, out.size() - 1));
  CHECK(line["level"] == "debug");
  CHECK(line["msg"] == "hello");
  CHECK(line["k"] == "v");
  const std::string ts = line["ts"];
  // 2025-11-22T08:00:00.000Z
  CHECK(ts.size() == 24);
  CHECK(ts[10] == 'T');
  CHECK(ts.ends_with("Z"));
}
