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

// Bounds on what the API sends, so that every sample rendered from it is one Prometheus accepts
// and no counter built from it can reach infinity: a value outside them leaves its field unset
// and counted as invalid, and the rest of the job stays. They are far beyond any real job.
inline constexpr double kMaxCreditsPerJob = 1e9;
// A video of 115 days.
inline constexpr double kMaxDurationSeconds = 1e7;
// 2000-01-01T00:00:00Z and 2200-01-01T00:00:00Z.
inline constexpr double kMinTimestamp = 946684800;
inline constexpr double kMaxTimestamp = 7258118400;
// Remaining credits, either sign.
inline constexpr double kMaxRemainingCredits = 1e15;
// Arrays and objects nested deeper than this are not an API answer: the body is refused before
// it is parsed (a body of 64 MiB of "[" would otherwise build 64 million nested arrays).
inline constexpr int kMaxNestingDepth = 64;

struct ParseResult {
  // The body was JSON of the expected shape (an object for one job, an array for a list).
  bool ok = false;
  // When !ok: a short reason for logs, e.g. "not JSON: ..." or "expected an array, got object".
  std::string error;
  std::vector<Job> jobs;
  // List items skipped whole: not an object, no usable id, or an id an earlier item had.
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

// Whether arrays and objects nest deeper than `limit` anywhere in `body` (brackets inside strings
// do not count). Linear; never builds anything. `items`, when given, receives the number of
// objects directly inside the outermost array or object (a listing's jobs).
bool NestedDeeperThan(std::string_view body, int limit, size_t* items = nullptr);

// ISO 8601 date-time ("2023-11-07T05:31:56Z", fractional seconds, "+02:00" offsets, no zone =
// UTC) to Unix seconds. nullopt when it does not parse.
std::optional<double> ParseTimestamp(std::string_view text);

// The API's progress on the kind's scale (0..1 or 0..100) to 0..1, clamped; nullopt for NaN
// and for ProgressScale::kNone.
std::optional<double> NormaliseProgress(double value, ProgressScale scale);

}  // namespace creatify
