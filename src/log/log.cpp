#include "log/log.h"

#include <atomic>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <mutex>

#include "text/strings.h"

namespace logging {
namespace {

std::atomic<Level> g_level{Level::kInfo};
std::atomic<Format> g_format{Format::kLogfmt};
std::mutex g_write_mutex;

// Appends `value` in double quotes, escaped as JSON strings are: the two formats share it, so a
// value reads the same in both and neither can break a line. Bytes from 0x80 up (UTF-8) pass
// through unchanged.
void AppendQuoted(std::string& out, std::string_view value) {
  out += '"';
  text::AppendEscaped(out, value, text::EscapeStyle::kJson);
  out += '"';
}

// logfmt values are quoted when they hold anything but plain printable ASCII.
void AppendLogfmtValue(std::string& out, std::string_view value) {
  bool plain = !value.empty();
  for (char ch : value) {
    auto c = static_cast<unsigned char>(ch);
    if (c <= ' ' || c == '"' || c == '=' || c == '\\' || c >= 0x7f) {
      plain = false;
      break;
    }
  }
  if (plain) {
    out += value;
  } else {
    AppendQuoted(out, value);
  }
}

std::string Now() {
  auto now = std::chrono::system_clock::now();
  auto millis =
      std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count();
  std::time_t seconds = static_cast<std::time_t>(millis / 1000);
  std::tm tm{};
  gmtime_r(&seconds, &tm);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<int>(millis % 1000));
  return buf;
}

}  // namespace

std::string_view LevelName(Level level) {
  switch (level) {
    case Level::kDebug:
      return "debug";
    case Level::kInfo:
      return "info";
    case Level::kWarn:
      return "warn";
    case Level::kError:
      break;
  }
  return "error";
}

std::optional<Level> ParseLevel(std::string_view text) {
  for (Level level : {Level::kDebug, Level::kInfo, Level::kWarn, Level::kError}) {
    if (LevelName(level) == text) return level;
  }
  return std::nullopt;
}

std::string_view FormatName(Format format) { return format == Format::kJson ? "json" : "logfmt"; }

std::optional<Format> ParseFormat(std::string_view text) {
  for (Format format : {Format::kLogfmt, Format::kJson}) {
    if (FormatName(format) == text) return format;
  }
  return std::nullopt;
}

void Configure(Level level, Format format) {
  g_level.store(level);
  g_format.store(format);
}

bool Enabled(Level level) { return level >= g_level.load(); }

std::string FormatLine(Format format, Level level, std::string_view timestamp, std::string_view msg,
                       std::initializer_list<Field> fields) {
  std::string line;
  line.reserve(96);
  if (format == Format::kJson) {
    line += "{\"ts\":";
    AppendQuoted(line, timestamp);
    line += ",\"level\":";
    AppendQuoted(line, LevelName(level));
    line += ",\"msg\":";
    AppendQuoted(line, msg);
    for (const auto& [key, value] : fields) {
      if (key.empty()) continue;
      line += ',';
      AppendQuoted(line, key);
      line += ':';
      AppendQuoted(line, value);
    }
    line += '}';
    return line;
  }
  line += "ts=";
  line += timestamp;
  line += " level=";
  line += LevelName(level);
  line += " msg=";
  AppendLogfmtValue(line, msg);
  for (const auto& [key, value] : fields) {
    if (key.empty()) continue;
    line += ' ';
    line += key;
    line += '=';
    AppendLogfmtValue(line, value);
  }
  return line;
}

void Log(Level level, std::string_view msg, std::initializer_list<Field> fields) {
  if (!Enabled(level)) return;
  std::string line = FormatLine(g_format.load(), level, Now(), msg, fields);
  line += '\n';
  std::lock_guard<std::mutex> lock(g_write_mutex);
  std::fwrite(line.data(), 1, line.size(), stderr);
  std::fflush(stderr);
}

}  // namespace logging
