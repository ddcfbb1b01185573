#include "text/duration.h"

#include <doctest/doctest.h>

#include <chrono>
#include <string>

using std::chrono::milliseconds;

TEST_CASE("ParseDuration reads Prometheus-style durations") {
  struct Case {
    const char* text;
    long long ms;
  };
  for (const Case& c : {
           Case{"10s", 10000},
           Case{"500ms", 500},
           Case{"1m30s", 90000},
           Case{"1h", 3600000},
           Case{"2h30m", 9000000},
           Case{"1h2m3s4ms", 3723004},
           Case{"1h4ms", 3600004},
           Case{"90m", 5400000},
           Case{"05s", 5000},
           Case{"0s", 0},
           Case{"0ms", 0},
           Case{"1d", 86400000},
           Case{"7d", 604800000},
           Case{"1w", 604800000},
           Case{"1y", 31536000000},
           Case{"1y2w3d4h", 31536000000 + 2 * 604800000 + 3 * 86400000 + 4 * 3600000},
           // The largest value whose nanoseconds still fit in a signed 64-bit count.
           Case{"9223372036854ms", 9223372036854},
       }) {
    CAPTURE(c.text);
    auto d = text::ParseDuration(c.text);
    REQUIRE(d.has_value());
    CHECK(d->count() == c.ms);
  }
}

TEST_CASE("ParseDuration rejects anything else") {
  for (const char* text : {
           "",         "10",
           "s",        "ms",
           "10 s",     " 10s",
           "10s ",     "1s1m",
           "1s1s",     "1m1m",
           "1ms1s",    "-1s",
           "+1s",      "1.5s",
           "10S",      "1D",
           "1d1w",     "1h1d",
           "1us",      "10sec",
           "1h 30m",   "1m30",
           "s10",      "0x10s",
           "10s\n",    "9223372036855ms",
           "2562048h", "99999999999999999999s",
       }) {
    CAPTURE(std::string(text));
    CHECK_FALSE(text::ParseDuration(text).has_value());
  }
}

TEST_CASE("FormatDuration writes the shortest form, which ParseDuration reads back") {
  struct Case {
    long long ms;
    const char* text;
  };
  for (const Case& c : {
           Case{0, "0s"},
           Case{1, "1ms"},
           Case{100, "100ms"},
           Case{250, "250ms"},
           Case{5000, "5s"},
           Case{3600001, "1h1ms"},
           Case{1000, "1s"},
           Case{1500, "1s500ms"},
           Case{90000, "1m30s"},
           Case{3600000, "1h"},
           Case{3723004, "1h2m3s4ms"},
           Case{24 * 3600000LL, "24h"},
       }) {
    CAPTURE(c.text);
    CHECK(text::FormatDuration(milliseconds(c.ms)) == c.text);
    CHECK(text::ParseDuration(c.text) == milliseconds(c.ms));
  }
  CHECK(text::FormatDuration(milliseconds(-5)) == "0s");
}
