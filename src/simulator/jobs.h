// The simulated Creatify jobs: the kinds the simulator serves (as rows of data), how a job is
// generated from the seed, and where a job is in its life cycle at a given time. Pure functions
// and plain values, no I/O and no clock: safe to use from any thread on distinct objects.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace simulator {

// Unix time with millisecond resolution: the API's timestamps carry milliseconds.
using Time = std::chrono::sys_time<std::chrono::milliseconds>;
using Millis = std::chrono::milliseconds;

// How a kind reports progress; the API is not consistent across kinds.
enum class ProgressStyle {
  kNone,           // no progress field at all (ads_clone)
  kPercentString,  // a numeric string, 0..100, e.g. "42.5" (custom_template)
  kRatioNumber,    // a JSON number, 0..1 (aurora)
};

struct KindRow {
  // The exporter's `kind` label and the key in /sim/state, e.g. "custom_template".
  std::string_view name;
  // The collection path; a job is path + id + "/".
  std::string_view path;
  // GET path answers the whole list as a JSON array (with ?ids= and ?ordering=).
  bool list = false;
  ProgressStyle progress = ProgressStyle::kNone;
  // credits_used is an integer for this kind; else a number with decimals.
  bool integer_credits = true;
};

inline constexpr std::size_t kKindCount = 3;
inline constexpr std::size_t kAdsClone = 0;
inline constexpr std::size_t kCustomTemplate = 1;
inline constexpr std::size_t kAurora = 2;

// Indexed by kAdsClone, kCustomTemplate, kAurora.
const std::array<KindRow, kKindCount>& Kinds();

// The index of the kind named `name`, or nullopt.
std::optional<std::size_t> FindKind(std::string_view name);

enum class Phase { kPending, kInQueue, kRunning, kFailed, kDone, kRejected };

inline constexpr std::array<Phase, 6> kAllPhases = {Phase::kPending, Phase::kInQueue,
                                                    Phase::kRunning, Phase::kFailed,
                                                    Phase::kDone,    Phase::kRejected};
inline constexpr std::array<Phase, 3> kTerminalPhases = {Phase::kDone, Phase::kFailed,
                                                         Phase::kRejected};

// The API's status word: "pending", "in_queue", ...
std::string_view PhaseName(Phase phase);
bool IsTerminal(Phase phase);

// What decides the life of a new job, from the simulator's flags.
struct JobParams {
  // Each of pending, in_queue and running lasts this times a factor in [0.5, 1.5].
  Millis stage_duration{10'000};
  double failure_ratio = 0.15;
  double rejection_ratio = 0.05;
};

// Everything about a job that is fixed at its creation. Its status at a time comes from StateAt.
struct Job {
  std::size_t kind = 0;
  std::string id;
  Time created_at;
  // Lengths of the pending, in_queue and running stages.
  std::array<Millis, 3> stages{};
  // done, failed or rejected.
  Phase outcome = Phase::kDone;
  // Charged when the outcome is done; failed and rejected jobs report 0.
  double credits = 0;
  // The produced video's length, reported once done.
  int video_seconds = 10;
  // Progress when the job ends: 1 for done, less for failed and rejected.
  double final_progress = 1;
  std::optional<std::string> name;
  std::string model_version;
  std::string aspect_ratio;
  std::optional<std::string> language;
  std::string link;
  std::string media_job;
  std::string reference_video;
  std::string failed_reason;
  std::string product;
  bool is_hidden = false;
};

// The job number `index` of kind `kind`: a function of (seed, kind, index, created_at) only, so
// that a job does not depend on the order in which requests arrived.
Job MakeJob(std::uint64_t seed, std::size_t kind, std::size_t index, Time created_at,
            const JobParams& params);

struct JobState {
  Phase phase = Phase::kPending;
  // The time of the last status change (created_at while pending).
  Time updated_at;
  // 0..1.
  double progress = 0;
};

// The job at `now`, its stages counted from `clock_start`; nullopt while held (always pending).
JobState StateAt(const Job& job, std::optional<Time> clock_start, Time now);

// A UUID version 4 in its canonical text form, built from 128 random bits.
std::string UuidFromBits(std::uint64_t high, std::uint64_t low);

// ISO 8601 UTC with milliseconds: "2026-11-22T05:31:56.123Z".
std::string FormatTime(Time time);

}  // namespace simulator
