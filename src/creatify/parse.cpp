#include "creatify/parse.h"

#include <charconv>
#include <cmath>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <system_error>
#include <unordered_set>

#include "text/strings.h"

namespace creatify {
namespace {

using nlohmann::json;

// How much of a non-JSON body goes into the error text: enough to tell an HTML error page or a
// proxy's message from a truncated document, short enough for one log line.
constexpr std::size_t kBodyExcerptLength = 32;

// A decimal number filling the whole (trimmed) string. std::from_chars ignores the locale, which
// strtod would not; it also accepts "inf" and "nan", which are not numbers the API sends.
std::optional<double> ParseNumericString(std::string_view text) {
  text = text::Trim(text);
  if (text.empty()) return std::nullopt;
  double value = 0;
  const char* end = text.data() + text.size();
  const auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (ec != std::errc() || ptr != end || !std::isfinite(value)) return std::nullopt;
  return value;
}

// A finite JSON number, or a string holding one. Booleans are not numbers, whatever JSON's
// neighbours think. nlohmann_json already rejects a literal like 1e999 as a whole document; the
// check on JSON numbers keeps that from being an assumption here.
std::optional<double> NumberOf(const json& value) {
  if (value.is_number()) {
    const auto number = value.get<double>();
    if (!std::isfinite(number)) return std::nullopt;
    return number;
  }
  if (value.is_string()) return ParseNumericString(value.get_ref<const std::string&>());
  return std::nullopt;
}

std::string Excerpt(std::string_view body) {
  std::string out;
  for (char c : body.substr(0, kBodyExcerptLength)) {
    const auto u = static_cast<unsigned char>(c);
    out += (u >= 0x20 && u < 0x7f && c != '"') ? c : '?';
  }
  if (body.size() > kBodyExcerptLength) out += "...";
  return out;
}

std::string TooDeepError() {
  return "not an API answer: arrays and objects nested deeper than " +
         std::to_string(kMaxNestingDepth);
}

// Parses without exceptions; on failure fills `error` and returns a discarded value.
json ParseBody(std::string_view body, std::string* error) {
  if (NestedDeeperThan(body, kMaxNestingDepth)) {
    *error = TooDeepError();
    return json(json::value_t::discarded);
  }
  json doc = json::parse(body.begin(), body.end(), nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) {
    if (text::Trim(body).empty()) {
      *error = "not JSON: empty body";
    } else {
      *error =
          "not JSON: " + std::to_string(body.size()) + " bytes starting \"" + Excerpt(body) + "\"";
    }
  }
  return doc;
}

// Reads the fields of one job object into `job`; `job.id` is set by the caller.
void ReadJobFields(const KindSpec& kind, const json& object, Job& job,
                   std::vector<std::string>& invalid_fields) {
  // A field that is present, not null: the caller decides whether its type fits.
  auto present = [&object](const char* name) -> const json* {
    const auto it = object.find(name);
    if (it == object.end() || it->is_null()) return nullptr;
    return &*it;
  };
  auto invalid = [&invalid_fields](std::string_view name) { invalid_fields.emplace_back(name); };

  if (const json* value = present("status")) {
    if (value->is_string()) {
      job.raw_status = value->get<std::string>();
      job.status = MapStatus(kind, job.raw_status);
    } else {
      invalid("status");
    }
  }

  // A kind without a progress scale has no progress field to read, whatever a body may hold.
  const json* progress_value =
      kind.progress_scale == ProgressScale::kNone ? nullptr : present("progress");
  if (const json* value = progress_value) {
    std::optional<double> progress;
    if (auto number = NumberOf(*value)) progress = NormaliseProgress(*number, kind.progress_scale);
    if (progress) {
      job.progress = progress;
    } else {
      invalid("progress");
    }
  }

  auto read_amount = [&](const char* name, double max, std::optional<double>& out) {
    const json* value = present(name);
    if (value == nullptr) return;
    const auto number = NumberOf(*value);
    if (number && *number >= 0 && *number <= max) {
      out = number;
    } else {
      invalid(name);
    }
  };
  read_amount("duration", kMaxDurationSeconds, job.video_duration_seconds);
  read_amount("credits_used", kMaxCreditsPerJob, job.credits_used);

  auto read_time = [&](const char* name, std::optional<double>& out) {
    const json* value = present(name);
    if (value == nullptr) return;
    std::optional<double> seconds;
    if (value->is_string()) seconds = ParseTimestamp(value->get_ref<const std::string&>());
    if (seconds && *seconds >= kMinTimestamp && *seconds < kMaxTimestamp) {
      out = seconds;
    } else {
      invalid(name);
    }
  };
  read_time("created_at", job.created_at);
  read_time("updated_at", job.updated_at);

  for (std::string_view field : kind.info_fields) {
    const auto it = object.find(field);
    if (it == object.end() || it->is_null()) continue;
    if (!it->is_string()) {
      invalid(field);
      continue;
    }
    const auto& text = it->get_ref<const std::string&>();
    if (!text.empty()) job.info.emplace_back(std::string(field), text);
  }
}

// The object's id when it is a non-empty string.
std::optional<std::string> UsableId(const json& object) {
  const auto it = object.find("id");
  if (it == object.end() || !it->is_string()) return std::nullopt;
  const auto& id = it->get_ref<const std::string&>();
  if (id.empty()) return std::nullopt;
  return id;
}

// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's days_from_civil): pure
// arithmetic, so no dependence on timegm, the TZ variable or the locale.
std::int64_t DaysFromCivil(std::int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  const auto yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

bool IsLeapYear(int y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

int DaysInMonth(int y, int m) {
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return (m == 2 && IsLeapYear(y)) ? 29 : kDays[m - 1];
}

// Reads exactly `count` digits at `pos`, advancing it.
bool ReadDigits(std::string_view text, std::size_t& pos, int count, int& out) {
  if (pos + count > text.size()) return false;
  int value = 0;
  for (int i = 0; i < count; ++i) {
    const char c = text[pos + i];
    if (c < '0' || c > '9') return false;
    value = value * 10 + (c - '0');
  }
  pos += count;
  out = value;
  return true;
}

bool Expect(std::string_view text, std::size_t& pos, char c) {
  if (pos >= text.size() || text[pos] != c) return false;
  ++pos;
  return true;
}

}  // namespace

bool NestedDeeperThan(std::string_view body, int limit, size_t* items) {
  int depth = 0;
  size_t objects = 0;
  bool in_string = false;
  bool escaped = false;
  for (char c : body) {
    if (in_string) {
      if (escaped) {
        escaped = false;
      } else if (c == '\\') {
        escaped = true;
      } else if (c == '"') {
        in_string = false;
      }
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > limit) return true;
      if (depth == 2 && c == '{') ++objects;
    } else if (c == ']' || c == '}') {
      --depth;
    }
  }
  if (items != nullptr) *items = objects;
  return false;
}

std::optional<double> NormaliseProgress(double value, ProgressScale scale) {
  if (std::isnan(value) || scale == ProgressScale::kNone) return std::nullopt;
  if (scale == ProgressScale::kPercent) value /= 100;
  if (value < 0) return 0.0;
  if (value > 1) return 1.0;
  return value;
}

std::optional<double> ParseTimestamp(std::string_view text) {
  std::size_t pos = 0;
  int year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0;
  if (!ReadDigits(text, pos, 4, year) || !Expect(text, pos, '-') ||
      !ReadDigits(text, pos, 2, month) || !Expect(text, pos, '-') ||
      !ReadDigits(text, pos, 2, day)) {
    return std::nullopt;
  }
  if (pos >= text.size() || (text[pos] != 'T' && text[pos] != 't' && text[pos] != ' ')) {
    return std::nullopt;
  }
  ++pos;
  if (!ReadDigits(text, pos, 2, hour) || !Expect(text, pos, ':') ||
      !ReadDigits(text, pos, 2, minute) || !Expect(text, pos, ':') ||
      !ReadDigits(text, pos, 2, second)) {
    return std::nullopt;
  }
  if (month < 1 || month > 12 || day < 1 || day > DaysInMonth(year, month) || hour > 23 ||
      minute > 59 || second > 59) {
    return std::nullopt;
  }

  double fraction = 0;
  if (pos < text.size() && text[pos] == '.') {
    ++pos;
    const std::size_t start = pos;
    double scale = 0.1;
    while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9') {
      fraction += (text[pos] - '0') * scale;
      scale /= 10;
      ++pos;
    }
    if (pos == start) return std::nullopt;
  }

  int offset_seconds = 0;
  if (pos < text.size()) {
    const char zone = text[pos++];
    if (zone == 'Z' || zone == 'z') {
      // UTC.
    } else if (zone == '+' || zone == '-') {
      int offset_hours = 0, offset_minutes = 0;
      if (!ReadDigits(text, pos, 2, offset_hours)) return std::nullopt;
      if (pos < text.size() && text[pos] == ':') ++pos;
      if (!ReadDigits(text, pos, 2, offset_minutes)) return std::nullopt;
      if (offset_hours > 23 || offset_minutes > 59) return std::nullopt;
      offset_seconds = (offset_hours * 3600 + offset_minutes * 60) * (zone == '-' ? -1 : 1);
    } else {
      return std::nullopt;
    }
  }
  if (pos != text.size()) return std::nullopt;

  const std::int64_t days =
      DaysFromCivil(year, static_cast<unsigned>(month), static_cast<unsigned>(day));
  const std::int64_t seconds = days * 86400 + hour * 3600 + minute * 60 + second - offset_seconds;
  return static_cast<double>(seconds) + fraction;
}

ParseResult ParseJobObject(const KindSpec& kind, std::string_view body,
                           std::string_view requested_id) {
  ParseResult result;
  const json doc = ParseBody(body, &result.error);
  if (doc.is_discarded()) return result;
  if (!doc.is_object()) {
    result.error = std::string("expected an object, got ") + doc.type_name();
    return result;
  }
  result.ok = true;

  // The job is filed under the id it was asked for, even if the body spells it differently
  // (say, in another case): the poller decides by that id whether to ask again.
  Job job;
  job.id = std::string(requested_id);
  const auto id = doc.find("id");
  if (id != doc.end() && !id->is_null() && !UsableId(doc)) job.invalid_fields.emplace_back("id");
  ReadJobFields(kind, doc, job, job.invalid_fields);
  result.invalid_fields.insert(result.invalid_fields.end(), job.invalid_fields.begin(),
                               job.invalid_fields.end());
  result.jobs.push_back(std::move(job));
  return result;
}

ParseResult ParseJobList(const KindSpec& kind, std::string_view body) {
  ParseResult result;
  // A listing may hold 100,000 jobs: each item is read into a Job as soon as it is complete and
  // then dropped, and the fields no job uses are never built, so the document is never held
  // whole (a full DOM of such a listing costs three times the time and ten times the memory).
  bool array = false;
  // A second item with an id already read is skipped and counted: which of the two is right
  // cannot be told, and the first is as good as any.
  std::unordered_set<std::string> seen_ids;
  auto wanted = [&kind](const std::string& key) {
    static constexpr std::string_view kFields[] = {
        "id", "status", "progress", "duration", "credits_used", "created_at", "updated_at"};
    for (std::string_view field : kFields) {
      if (key == field) return true;
    }
    for (std::string_view field : kind.info_fields) {
      if (key == field) return true;
    }
    return false;
  };
  auto item = [&](int depth, json::parse_event_t event, json& parsed) {
    if (depth == 0 && event == json::parse_event_t::array_start) array = true;
    if (!array) return true;
    if (depth == 2 && event == json::parse_event_t::key) {
      return wanted(parsed.get_ref<const std::string&>());
    }
    if (depth == 1 && event == json::parse_event_t::object_end) {
      std::optional<std::string> id = UsableId(parsed);
      if (id && !seen_ids.insert(*id).second) id.reset();
      if (id) {
        Job job;
        job.id = std::move(*id);
        ReadJobFields(kind, parsed, job, job.invalid_fields);
        result.invalid_fields.insert(result.invalid_fields.end(), job.invalid_fields.begin(),
                                     job.invalid_fields.end());
        result.jobs.push_back(std::move(job));
      } else {
        ++result.invalid_items;
      }
      return false;
    }
    return true;
  };
  size_t items = 0;
  if (NestedDeeperThan(body, kMaxNestingDepth, &items)) {
    result.error = TooDeepError();
    return result;
  }
  // Jobs are read into their place, not moved at every doubling of the vector.
  result.jobs.reserve(items);
  seen_ids.reserve(items);
  json doc = json::parse(body.begin(), body.end(), item, /*allow_exceptions=*/false);
  if (doc.is_discarded()) {
    result.jobs.clear();
    result.invalid_fields.clear();
    result.invalid_items = 0;
    ParseBody(body, &result.error);
    return result;
  }
  if (!doc.is_array()) {
    result.error = std::string("expected an array, got ") + doc.type_name();
    return result;
  }
  result.ok = true;
  // What is left are the items that were not objects.
  result.invalid_items += static_cast<int>(doc.size());
  return result;
}

std::optional<double> ParseRemainingCredits(std::string_view body, std::string* error) {
  std::string message;
  std::optional<double> credits;
  const json doc = ParseBody(body, &message);
  if (doc.is_discarded()) {
    // message set by ParseBody.
  } else if (!doc.is_object()) {
    message = std::string("expected an object, got ") + doc.type_name();
  } else if (const auto it = doc.find("remaining_credits"); it == doc.end() || it->is_null()) {
    message = "no remaining_credits in the response";
  } else if (auto number = NumberOf(*it); !number) {
    message = std::string("remaining_credits is not a number: ") + it->type_name();
  } else if (std::abs(*number) > kMaxRemainingCredits) {
    message = "remaining_credits out of range";
  } else {
    credits = number;
  }
  if (!credits && error != nullptr) *error = std::move(message);
  return credits;
}

}  // namespace creatify
