// Durations as Prometheus writes them ("500ms", "10s", "1m30s", "2h"), read by the config file
// and the simulator's flags, written in messages and in the simulator's generated config. Pure
// functions; thread-safe.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace text {

// One or more <integer><unit> parts, units y (365d), w, d, h, m, s, ms in that order, each at
// most once ("10s", "500ms", "1m30s", "7d"). nullopt when it does not parse or is too large to be
// counted in nanoseconds (so that callers can add it to any clock's time_point).
std::optional<std::chrono::milliseconds> ParseDuration(std::string_view text);

// The shortest form ParseDuration reads back: "1h30m", "1s500ms", "0s" for zero. Negative
// durations are written as "0s".
std::string FormatDuration(std::chrono::milliseconds duration);

}  // namespace text
