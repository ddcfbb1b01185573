#include "support/reference_job_parser.h"

#include <charconv>
#include <cmath>
#include <nlohmann/json.hpp>
#include <string>
#include <system_error>
#include <unordered_set>

#include "text/strings.h"

namespace creatify::reference {
namespace {

using nlohmann::json;

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

// Parses without exceptions; on failure sets `error` and returns a discarded value.
json ParseBody(std::string_view body, std::string* error) {
  if (NestedDeeperThan(body, kMaxNestingDepth)) {
    *error = "too deep";
    return json(json::value_t::discarded);
  }
  json doc = json::parse(body.begin(), body.end(), nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) *error = "not JSON";
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

  auto read_amount = [&](const char* name, double max, creatify::OptionalNumber& out) {
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

  auto read_time = [&](const char* name, creatify::OptionalNumber& out) {
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

}  // namespace

bool Accepts(std::string_view body) { return json::accept(body.begin(), body.end()); }

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
    result.error = "too deep";
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

}  // namespace creatify::reference
