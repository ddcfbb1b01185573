#include "text/duration.h"

#include <cstdint>
#include <limits>
#include <utility>

namespace text {

std::optional<std::chrono::milliseconds> ParseDuration(std::string_view text) {
  struct Unit {
    std::string_view suffix;
    std::int64_t ms;
  };
  // "ms" before "m" so that the longer suffix wins; the rank (the index in kOrder) enforces the
  // order y, w, d, h, m, s, ms, as Prometheus does.
  static constexpr Unit kUnits[] = {{"ms", 1},       {"y", 31536000000}, {"w", 604800000},
                                    {"d", 86400000}, {"h", 3600000},     {"m", 60000},
                                    {"s", 1000}};
  static constexpr std::string_view kOrder[] = {"y", "w", "d", "h", "m", "s", "ms"};
  auto rank = [](std::string_view suffix) {
    int r = 0;
    while (kOrder[r] != suffix) ++r;
    return r;
  };
  // The largest count of milliseconds whose nanoseconds still fit in 64 bits.
  constexpr std::int64_t kMaxMs = std::numeric_limits<std::int64_t>::max() / 1000000;
  if (text.empty()) return std::nullopt;
  std::int64_t total = 0;
  int last_rank = -1;
  std::size_t i = 0;
  while (i < text.size()) {
    std::size_t start = i;
    std::int64_t number = 0;
    while (i < text.size() && text[i] >= '0' && text[i] <= '9') {
      number = number * 10 + (text[i] - '0');
      if (number > kMaxMs) return std::nullopt;
      ++i;
    }
    if (i == start) return std::nullopt;
    const Unit* unit = nullptr;
    for (const Unit& u : kUnits) {
      if (text.substr(i, u.suffix.size()) == u.suffix) {
        unit = &u;
        break;
      }
    }
    if (unit == nullptr || rank(unit->suffix) <= last_rank) return std::nullopt;
    last_rank = rank(unit->suffix);
    i += unit->suffix.size();
    if (number > (kMaxMs - total) / unit->ms) return std::nullopt;
    total += number * unit->ms;
  }
  return std::chrono::milliseconds(total);
}

std::string FormatDuration(std::chrono::milliseconds duration) {
  auto ms = duration.count();
  if (ms <= 0) return "0s";
  std::string out;
  for (auto [unit, size] : {std::pair{"h", 3600000LL}, {"m", 60000LL}, {"s", 1000LL}}) {
    if (ms >= size) {
      out += std::to_string(ms / size) + unit;
      ms %= size;
    }
  }
  if (ms > 0) out += std::to_string(ms) + "ms";
  return out;
}

}  // namespace text
