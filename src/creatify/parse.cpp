#include "creatify/parse.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <deque>
#include <nlohmann/json.hpp>
#include <system_error>
#include <unordered_set>

#include "creatify/huge_pages.h"
#include "creatify/json_reader.h"
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

// Fewer bytes than a listed job takes (an id, a status and a few fields, about 500 bytes in
// Creatify's answers).
constexpr std::size_t kMinJobBytes = 64;

std::string NotJsonError(std::string_view body) {
  if (text::Trim(body).empty()) return "not JSON: empty body";
  return "not JSON: " + std::to_string(body.size()) + " bytes starting \"" + Excerpt(body) + "\"";
}

// Parses without exceptions; on failure fills `error` and returns a discarded value.
json ParseBody(std::string_view body, std::string* error) {
  if (NestedDeeperThan(body, kMaxNestingDepth)) {
    *error = TooDeepError();
    return json(json::value_t::discarded);
  }
  json doc = json::parse(body.begin(), body.end(), nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) *error = NotJsonError(body);
  return doc;
}

// The members of one job object that the parser reads, as the reader found them. A name sent
// twice keeps its last value, as a JSON object built whole would.
class JobMembers {
 public:
  enum Field {
    kId,
    kStatus,
    kProgress,
    kDuration,
    kCreditsUsed,
    kCreatedAt,
    kUpdatedAt,
    kFailedReason,
    kFields
  };

  explicit JobMembers(const KindSpec& kind) : kind_(kind), info_(kind.info_fields.size()) {}

  // Reads one object's members (the reader is at its '{'); false when it is not JSON.
  bool Read(JsonReader& reader) {
    fixed_.fill(std::nullopt);
    for (auto& value : info_) value.reset();
    if (!reader.EnterObject()) return false;
    JsonValue key;
    JsonValue value;
    for (bool first = true;; first = false) {
      bool more = false;
      if (!reader.NextMember(first, &key, &more)) return false;
      if (!more) return true;
      if (!reader.Read(&value)) return false;
      Keep(JsonStringView(key, &scratch_), value);
    }
  }

  // The member when it was sent and is not null.
  const JsonValue* Present(Field field) const { return Present(fixed_[field]); }
  const JsonValue* Info(std::size_t index) const { return Present(info_[index]); }
  // The member when it was sent, null or not.
  const JsonValue* Sent(Field field) const { return fixed_[field] ? &*fixed_[field] : nullptr; }

 private:
  static constexpr std::array<std::string_view, kFields> kNames = {
      "id",           "status",     "progress",   "duration",
      "credits_used", "created_at", "updated_at", "failed_reason"};

  static const JsonValue* Present(const std::optional<JsonValue>& value) {
    return value && value->type != JsonType::kNull ? &*value : nullptr;
  }

  void Keep(std::string_view key, const JsonValue& value) {
    for (std::size_t i = 0; i < kNames.size(); ++i) {
      if (key == kNames[i]) fixed_[i] = value;
    }
    for (std::size_t i = 0; i < info_.size(); ++i) {
      if (key == kind_.info_fields[i]) info_[i] = value;
    }
  }

  const KindSpec& kind_;
  std::array<std::optional<JsonValue>, kFields> fixed_;
  std::vector<std::optional<JsonValue>> info_;
  std::string scratch_;
};

// A finite JSON number, or a string holding one. Booleans are not numbers, whatever JSON's
// neighbours think. The reader refuses a literal like 1e999 as a whole document.
std::optional<double> NumberOf(const JsonValue& value, std::string* scratch) {
  if (value.type == JsonType::kNumber) return JsonNumber(value);
  if (value.type == JsonType::kString) return ParseNumericString(JsonStringView(value, scratch));
  return std::nullopt;
}

// Reads the fields of one job object into `job`; `job.id` is set by the caller.
void ReadJobFields(const KindSpec& kind, const JobMembers& members, Job& job,
                   std::vector<std::string>& invalid_fields) {
  using Field = JobMembers::Field;
  std::string scratch;
  auto invalid = [&invalid_fields](std::string_view name) { invalid_fields.emplace_back(name); };

  if (const JsonValue* value = members.Present(Field::kStatus)) {
    if (value->type == JsonType::kString) {
      job.raw_status = JsonString(*value);
      job.status = MapStatus(kind, job.raw_status);
    } else {
      invalid("status");
    }
  }

  // A kind without a progress scale has no progress field to read, whatever a body may hold.
  const JsonValue* progress_value =
      kind.progress_scale == ProgressScale::kNone ? nullptr : members.Present(Field::kProgress);
  if (const JsonValue* value = progress_value) {
    std::optional<double> progress;
    if (auto number = NumberOf(*value, &scratch)) {
      progress = NormaliseProgress(*number, kind.progress_scale);
    }
    if (progress) {
      job.progress = progress;
    } else {
      invalid("progress");
    }
  }

  auto read_amount = [&](Field field, std::string_view name, double max, OptionalNumber& out) {
    const JsonValue* value = members.Present(field);
    if (value == nullptr) return;
    const auto number = NumberOf(*value, &scratch);
    if (number && *number >= 0 && *number <= max) {
      out = number;
    } else {
      invalid(name);
    }
  };
  read_amount(Field::kDuration, "duration", kMaxDurationSeconds, job.video_duration_seconds);
  read_amount(Field::kCreditsUsed, "credits_used", kMaxCreditsPerJob, job.credits_used);

  auto read_time = [&](Field field, std::string_view name, OptionalNumber& out) {
    const JsonValue* value = members.Present(field);
    if (value == nullptr) return;
    std::optional<double> seconds;
    if (value->type == JsonType::kString) {
      seconds = ParseTimestamp(JsonStringView(*value, &scratch));
    }
    if (seconds && *seconds >= kMinTimestamp && *seconds < kMaxTimestamp) {
      out = seconds;
    } else {
      invalid(name);
    }
  };
  read_time(Field::kCreatedAt, "created_at", job.created_at);
  read_time(Field::kUpdatedAt, "updated_at", job.updated_at);

  for (std::size_t i = 0; i < kind.info_fields.size(); ++i) {
    const JsonValue* value = members.Info(i);
    if (value == nullptr) continue;
    if (value->type != JsonType::kString) {
      invalid(kind.info_fields[i]);
      continue;
    }
    std::string text = JsonString(*value);
    if (!text.empty()) job.info.emplace_back(kind.info_fields[i], std::move(text));
  }

  if (const JsonValue* value = members.Present(Field::kFailedReason)) {
    if (value->type == JsonType::kString) {
      job.failed_reason = JsonString(*value);
    } else {
      invalid("failed_reason");
    }
  }
}

// The object's id when it is a non-empty string: a view of the body, or of *scratch when the
// id was sent with escapes.
std::optional<std::string_view> UsableId(const JobMembers& members, std::string* scratch) {
  const JsonValue* id = members.Sent(JobMembers::kId);
  if (id == nullptr || id->type != JsonType::kString) return std::nullopt;
  const std::string_view text = JsonStringView(*id, scratch);
  if (text.empty()) return std::nullopt;
  return text;
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
  if (NestedDeeperThan(body, kMaxNestingDepth)) {
    result.error = TooDeepError();
    return result;
  }
  JsonReader reader(body, kMaxNestingDepth);
  JobMembers members(kind);
  const std::optional<JsonType> type = reader.Peek();
  if (type == JsonType::kObject) {
    if (!members.Read(reader) || !reader.AtEnd()) {
      result.error = NotJsonError(body);
      return result;
    }
  } else {
    JsonValue ignored;
    if (!type || !reader.Read(&ignored) || !reader.AtEnd()) {
      result.error = NotJsonError(body);
    } else {
      result.error = "expected an object, got " + std::string(JsonTypeName(*type));
    }
    return result;
  }
  result.ok = true;

  // The job is filed under the id it was asked for, even if the body spells it differently
  // (say, in another case): the poller decides by that id whether to ask again.
  Job job;
  job.id = std::string(requested_id);
  std::string scratch;
  if (members.Present(JobMembers::kId) != nullptr && !UsableId(members, &scratch)) {
    job.invalid_fields.emplace_back("id");
  }
  ReadJobFields(kind, members, job, job.invalid_fields);
  result.invalid_fields = job.invalid_fields;
  result.jobs.push_back(std::move(job));
  return result;
}

ParseResult ParseJobList(const KindSpec& kind, std::string_view body) {
  ParseResult result;
  // A listing may hold 100,000 jobs: each item is read into a Job in place, from views of the
  // body, and the members no job uses are checked and skipped, never built.
  size_t items = 0;
  if (NestedDeeperThan(body, kMaxNestingDepth, &items)) {
    result.error = TooDeepError();
    return result;
  }
  JsonReader reader(body, kMaxNestingDepth);
  auto not_json = [&body] {
    ParseResult failed;
    failed.error = NotJsonError(body);
    return failed;
  };
  const std::optional<JsonType> type = reader.Peek();
  if (type != JsonType::kArray) {
    JsonValue ignored;
    if (!type || !reader.Read(&ignored) || !reader.AtEnd()) return not_json();
    result.error = "expected an array, got " + std::string(JsonTypeName(*type));
    return result;
  }

  // A second item with an id already read is skipped and counted: which of the two is right
  // cannot be told, and the first is as good as any. The ids are views of the body, or of
  // `escaped_ids` for the few sent with escapes.
  std::unordered_set<std::string_view> seen_ids;
  std::deque<std::string> escaped_ids;
  // Room for every job at once, not a move of them all at every doubling; but no more than a
  // job per kMinJobBytes of body, so that a body of 20 million "{}" cannot make room for 20
  // million jobs it does not hold.
  const size_t room = std::min(items, body.size() / kMinJobBytes);
  result.jobs.reserve(room);
  AdviseHugePages(result.jobs.data(), result.jobs.capacity() * sizeof(Job));
  seen_ids.reserve(room);
  JobMembers members(kind);
  JsonValue ignored;
  if (!reader.EnterArray()) return not_json();
  for (bool first = true;; first = false) {
    bool more = false;
    if (!reader.NextElement(first, &more)) return not_json();
    if (!more) break;
    if (reader.Peek() != JsonType::kObject) {
      if (!reader.Read(&ignored)) return not_json();
      ++result.invalid_items;
      continue;
    }
    if (!members.Read(reader)) return not_json();
    std::string scratch;
    std::optional<std::string_view> id = UsableId(members, &scratch);
    if (id && !scratch.empty()) id = escaped_ids.emplace_back(std::move(scratch));
    if (!id || !seen_ids.insert(*id).second) {
      ++result.invalid_items;
      continue;
    }
    Job& job = result.jobs.emplace_back();
    job.id = std::string(*id);
    ReadJobFields(kind, members, job, job.invalid_fields);
    result.invalid_fields.insert(result.invalid_fields.end(), job.invalid_fields.begin(),
                                 job.invalid_fields.end());
  }
  if (!reader.AtEnd()) return not_json();
  result.ok = true;
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
