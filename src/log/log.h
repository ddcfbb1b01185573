// Structured logging to stderr, in logfmt or JSON, one line per call. Thread-safe: a line is
// written whole under a mutex. Credentials must never be passed in.
#pragma once

#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

namespace logging {

enum class Level { kDebug, kInfo, kWarn, kError };
enum class Format { kLogfmt, kJson };

// "debug", "info", "warn" or "error": the --log.level value and the `level` field of a line.
std::string_view LevelName(Level level);
std::optional<Level> ParseLevel(std::string_view text);
// "logfmt" or "json": the --log.format value.
std::string_view FormatName(Format format);
std::optional<Format> ParseFormat(std::string_view text);

// Sets the threshold and format for every later line. Defaults: info, logfmt.
void Configure(Level level, Format format);

bool Enabled(Level level);

// A field with an empty name is left out: the way to give a field that only some lines have
// (the poller's workspace, which a config without workspaces has not).
using Field = std::pair<std::string_view, std::string_view>;

void Log(Level level, std::string_view msg, std::initializer_list<Field> fields = {});
inline void Debug(std::string_view msg, std::initializer_list<Field> fields = {}) {
  Log(Level::kDebug, msg, fields);
}
inline void Info(std::string_view msg, std::initializer_list<Field> fields = {}) {
  Log(Level::kInfo, msg, fields);
}
inline void Warn(std::string_view msg, std::initializer_list<Field> fields = {}) {
  Log(Level::kWarn, msg, fields);
}
inline void Error(std::string_view msg, std::initializer_list<Field> fields = {}) {
  Log(Level::kError, msg, fields);
}

// The line Log would write, without the trailing newline; exposed for tests.
std::string FormatLine(Format format, Level level, std::string_view timestamp, std::string_view msg,
                       std::initializer_list<Field> fields);

}  // namespace logging
