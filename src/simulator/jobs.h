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
#include <vector>

namespace simulator {

// Unix time with millisecond resolution: the API's timestamps carry milliseconds.
using Time = std::chrono::sys_time<std::chrono::milliseconds>;
using Millis = std::chrono::milliseconds;

// How a kind reports progress; the API is not consistent across kinds.
enum class ProgressStyle {
  kNone,           // no progress field at all (ads_clone, text_to_speech, product_to_videos)
  kPercentString,  // a numeric string, 0..100, e.g. "42.5" (custom_template, lipsyncs)
  kRatioNumber,    // a JSON number, 0..1 (aurora, ai_shorts)
  kPercentNumber,  // a JSON number, 0..100 (a custom kind on the percent scale)
};

// Which JSON fields a kind's job carries besides the common ones.
enum class Shape {
  kAdsClone,
  kCustomTemplate,
  kAurora,
  kLipsync,
  kLipsyncV2,
  kAiShort,
  kAiEditing,
  kLinkToVideo,
  kTextToSpeech,
  kProductToVideo,
  kGeneric,  // a custom kind: the fields every kind shares, and a name
};

// The words a kind uses for its status.
enum class Vocabulary {
  kStandard,      // pending, in_queue, running, failed, done, rejected
  kProductSteps,  // initializing, image_generating, image_generated, video_generating,
                  // video_generated, failed (no rejected)
  kCustom,        // created, waiting, processing, error, completed, refused (a --custom-kind)
};

struct KindRow {
  // The exporter's `kind` label and the key in /sim/state, e.g. "custom_template".
  std::string name;
  // The collection path; a job is path + id + "/".
  std::string path;
  // GET path answers the whole list as a JSON array (with ?ids= and ?ordering=).
  bool list = false;
  ProgressStyle progress = ProgressStyle::kNone;
  // credits_used is an integer for this kind; else a number with decimals.
  bool integer_credits = true;
  Shape shape = Shape::kGeneric;
  Vocabulary vocabulary = Vocabulary::kStandard;

  bool operator==(const KindRow&) const = default;
};

using KindTable = std::vector<KindRow>;

// Indexes of the built-in kinds in BuiltinKinds(); custom kinds follow them.
inline constexpr std::size_t kAdsClone = 0;
inline constexpr std::size_t kCustomTemplate = 1;
inline constexpr std::size_t kAurora = 2;
inline constexpr std::size_t kLipsync = 3;
inline constexpr std::size_t kLipsyncV2 = 4;
inline constexpr std::size_t kAiShort = 5;
inline constexpr std::size_t kAiEditing = 6;
inline constexpr std::size_t kLinkToVideo = 7;
inline constexpr std::size_t kTextToSpeech = 8;
inline constexpr std::size_t kProductToVideo = 9;

// Every kind the real API has, in the exporter's kind-table order.
const KindTable& BuiltinKinds();

// The index of the kind named `name` in `kinds`, or nullopt.
std::optional<std::size_t> FindKind(const KindTable& kinds, std::string_view name);

enum class Phase { kPending, kInQueue, kRunning, kFailed, kDone, kRejected };

inline constexpr std::array<Phase, 6> kAllPhases = {Phase::kPending, Phase::kInQueue,
                                                    Phase::kRunning, Phase::kFailed,
                                                    Phase::kDone,    Phase::kRejected};
inline constexpr std::array<Phase, 3> kTerminalPhases = {Phase::kDone, Phase::kFailed,
                                                         Phase::kRejected};

// Our status word: "pending", "in_queue", ...
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
  // ai_shorts' style, ai_editing's editing_style, product_to_videos' type.
  std::string style;
  std::string editing_style;
  std::string product_type;
};

// The job number `index` of kind `kind` (its index in the table, `row` its row): a function of
// (seed, kind, index, created_at) only, so that a job does not depend on the order in which
// requests arrived. A kind without `rejected` in its vocabulary fails instead.
Job MakeJob(std::uint64_t seed, std::size_t kind, const KindRow& row, std::size_t index,
            Time created_at, const JobParams& params);

struct JobState {
  Phase phase = Phase::kPending;
  // The time of the last status change (created_at while pending).
  Time updated_at;
  // 0..1.
  double progress = 0;
};

// The job at `now`, its stages counted from `clock_start`; nullopt while held (always pending).
JobState StateAt(const Job& job, std::optional<Time> clock_start, Time now);

// The status word the kind's API sends for `state`.
std::string_view StatusWord(const KindRow& row, const JobState& state);

// The status the exporter should report for `phase` once it has mapped the kind's word: the
// ground truth of /sim/state. product_to_videos has no queue step: its in_queue is a running
// step (image_generating).
Phase ReportedPhase(const KindRow& row, Phase phase);

// A UUID version 4 in its canonical text form, built from 128 random bits.
std::string UuidFromBits(std::uint64_t high, std::uint64_t low);

// ISO 8601 UTC with milliseconds: "2026-11-22T05:31:56.123Z".
std::string FormatTime(Time time);

}  // namespace simulator
