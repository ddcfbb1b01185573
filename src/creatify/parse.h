// Pure functions from API response bodies to the job model. They never throw: a body that is not
// JSON, or not of the expected shape, gives ok == false; a malformed item is skipped and counted;
// a field that is null or missing is left unset, and one of the wrong type is left unset and
// counted. Thread-safe (no shared state).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "creatify/job.h"
#include "creatify/kind.h"

namespace creatify {

struct ParseResult {
  // The body was JSON of the expected shape (an object for one job, an array for a list).
  bool ok = false;
  // When !ok: a short reason for logs, e.g. "not JSON: ..." or "expected an array, got object".
  std::string error;
  std::vector<Job> jobs;
  // List items skipped whole: not an object, or no usable id.
  int invalid_items = 0;
  // One entry per field skipped for its type or value, by JSON field name, e.g. "progress".
  std::vector<std::string> invalid_fields;
};

// GET {path}{id}/. The job's id is always `requested_id`: the poller asks again by that id.
ParseResult ParseJobObject(const KindSpec& kind, std::string_view body,
                           std::string_view requested_id);

// GET {path} (optionally ?ids=): a JSON array of jobs.
ParseResult ParseJobList(const KindSpec& kind, std::string_view body);

// GET /api/remaining_credits/: {"remaining_credits": <number>}. nullopt, with *error set, on
// anything else.
std::optional<double> ParseRemainingCredits(std::string_view body, std::string* error);

// ISO 8601 date-time ("2023-11-07T05:31:56Z", fractional seconds, "+02:00" offsets, no zone =
// UTC) to Unix seconds. nullopt when it does not parse.
std::optional<double> ParseTimestamp(std::string_view text);

// The API's progress on the kind's scale (0..1 or 0..100) to 0..1, clamped; nullopt for NaN
// and for ProgressScale::kNone.
std::optional<double> NormaliseProgress(double value, ProgressScale scale);

}  // namespace creatify
