// Content negotiation of /metrics: examples, then seeded random Accept headers against a reference
// written apart (CREATIFY_ACCEPT_SEED replays one run).
#include "server/accept.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <optional>
#include <random>
#include <string>
#include <vector>

namespace {

constexpr char kPrometheus[] =
    "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;"
    "q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";

// One media range of a generated header, as the reference sees it.
struct Range {
  std::string type;     // lower case
  std::string subtype;  // lower case
  std::optional<std::string> version;
  double q = 1;
};

// The reference: each offer's weight is the q of its most specific matching range (the first of
// equally specific ones); OpenMetrics when its weight is positive and above the text format's.
bool Reference(const std::vector<Range>& ranges) {
  auto weigh = [&](const std::string& type, const std::string& subtype,
                   const std::string& version) {
    int best = 0;
    double q = 0;
    for (const Range& r : ranges) {
      int specificity = 0;
      if (r.type == "*" && r.subtype == "*") {
        specificity = 1;
      } else if (r.type == type && r.subtype == "*") {
        specificity = 2;
      } else if (r.type == type && r.subtype == subtype) {
        if (r.version && *r.version != version) continue;
        specificity = r.version ? 4 : 3;
      }
      if (specificity > best) {
        best = specificity;
        q = r.q;
      }
    }
    return q;
  };
  const double om = weigh("application", "openmetrics-text", "1.0.0");
  const double text = weigh("text", "plain", "0.0.4");
  return om > 0 && om > text;
}

}  // namespace

TEST_CASE("Accept: Prometheus gets OpenMetrics, every other client the text format") {
  CHECK(server::PrefersOpenMetrics(kPrometheus));
  CHECK(server::PrefersOpenMetrics("application/openmetrics-text"));
  CHECK(server::PrefersOpenMetrics("application/openmetrics-text; version=1.0.0; charset=utf-8"));
  CHECK(server::PrefersOpenMetrics("Application/OpenMetrics-Text;Version=1.0.0"));
  CHECK(server::PrefersOpenMetrics("text/plain;q=0.5, application/openmetrics-text"));
  CHECK(server::PrefersOpenMetrics("application/*"));
  CHECK_FALSE(server::PrefersOpenMetrics(""));
  CHECK_FALSE(server::PrefersOpenMetrics("*/*"));
  CHECK_FALSE(server::PrefersOpenMetrics("text/plain"));
  CHECK_FALSE(server::PrefersOpenMetrics("text/plain;version=0.0.4"));
  CHECK_FALSE(server::PrefersOpenMetrics("application/json"));
  // Only version 1.0.0 is offered.
  CHECK_FALSE(server::PrefersOpenMetrics("application/openmetrics-text;version=0.0.1"));
  CHECK_FALSE(server::PrefersOpenMetrics("application/openmetrics-text;version=0.0.1,*/*;q=0.1"));
  // Weights: a tie goes to the text format; q=0 refuses; a bad q refuses.
  CHECK_FALSE(server::PrefersOpenMetrics("application/openmetrics-text;q=0.5,text/plain;q=0.5"));
  CHECK_FALSE(server::PrefersOpenMetrics("application/openmetrics-text;q=0"));
  CHECK_FALSE(server::PrefersOpenMetrics("application/openmetrics-text;q=2"));
  CHECK_FALSE(server::PrefersOpenMetrics("application/openmetrics-text;q=x"));
  CHECK(server::PrefersOpenMetrics("application/openmetrics-text;q=0.6,text/plain;q=0.5"));
  // The most specific range decides: text/plain;q=0 refuses text even with */* there.
  CHECK(server::PrefersOpenMetrics("*/*;q=0.2,text/plain;q=0"));
  CHECK_FALSE(server::PrefersOpenMetrics("application/*;q=0.9,application/openmetrics-text;q=0"));
  // Commas inside a quoted parameter do not split the list.
  CHECK(server::PrefersOpenMetrics("application/openmetrics-text;x=\"a,text/plain\""));
  // Garbage never throws and never picks OpenMetrics by accident.
  CHECK_FALSE(server::PrefersOpenMetrics(",,;;==//\"\""));
  CHECK_FALSE(server::PrefersOpenMetrics("application/openmetrics-text;q="));
}

TEST_CASE("Accept: seeded random headers decide as the reference does") {
  const char* env = std::getenv("CREATIFY_ACCEPT_SEED");
  const unsigned seed =
      env ? static_cast<unsigned>(std::strtoul(env, nullptr, 10)) : std::random_device{}();
  INFO("CREATIFY_ACCEPT_SEED=", seed);
  std::mt19937 rng(seed);
  auto pick = [&](int n) { return static_cast<int>(rng() % static_cast<unsigned>(n)); };
  const std::vector<std::pair<std::string, std::string>> media = {
      {"application", "openmetrics-text"},
      {"text", "plain"},
      {"application", "*"},
      {"text", "*"},
      {"*", "*"},
      {"application", "json"},
      {"text", "html"}};
  const std::vector<std::string> versions = {"1.0.0", "0.0.1", "0.0.4", "2.0.0"};
  const std::vector<std::string> qs = {"1", "0", "0.5", "0.75", "0.1", "1.0", "0.001", "0.999"};
  auto mixed_case = [&](std::string s) {
    for (char& c : s) {
      if (pick(3) == 0) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    }
    return s;
  };
  auto space = [&] { return std::string(static_cast<size_t>(pick(3)), pick(2) ? ' ' : '\t'); };
  for (int run = 0; run < 20000; ++run) {
    std::vector<Range> ranges;
    std::string header;
    const int items = pick(5);
    for (int i = 0; i < items; ++i) {
      const auto& [type, subtype] =
          media[static_cast<size_t>(pick(static_cast<int>(media.size())))];
      Range range{type, subtype, std::nullopt, 1};
      std::string item = mixed_case(type) + "/" + mixed_case(subtype);
      if (pick(2) == 0) {
        range.version = versions[static_cast<size_t>(pick(static_cast<int>(versions.size())))];
        item += space() + ";" + space() + "version=" + *range.version;
      }
      if (pick(3) == 0) item += ";charset=utf-8";
      if (pick(2) == 0) {
        const std::string& q = qs[static_cast<size_t>(pick(static_cast<int>(qs.size())))];
        range.q = std::stod(q);
        item += ";" + space() + (pick(2) ? "q=" : "Q=") + q;
      }
      header += (header.empty() ? "" : "," + space()) + item;
      ranges.push_back(range);
    }
    CAPTURE(header);
    REQUIRE(server::PrefersOpenMetrics(header) == Reference(ranges));
  }
}
