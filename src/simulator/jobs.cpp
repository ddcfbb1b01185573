#include "simulator/jobs.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <random>

#include "simulator/draw.h"

namespace simulator {
namespace {

std::string Uuid(std::mt19937_64& rng) {
  std::uint64_t high = rng();
  std::uint64_t low = rng();
  return UuidFromBits(high, low);
}

// Some names carry quotes, non-ASCII letters and dashes on purpose: they end up in label values.
constexpr std::array<std::string_view, 8> kNames = {
    "Spring sale",   "Product demo \"v2\"", "Café opening",   "Q3 recap – EU",
    "Founder intro", "Holiday promo",       "Back-to-school", "How it works"};
constexpr std::array<std::string_view, 6> kProducts = {
    "Trail shoes", "Coffee grinder", "Yoga mat", "Desk lamp", "Face serum", "Phone case"};
constexpr std::array<std::string_view, 3> kModelVersions = {"standard", "aurora_v1",
                                                            "aurora_v1_fast"};
constexpr std::array<std::string_view, 3> kAspectRatios = {"9x16", "16x9", "1x1"};
constexpr std::array<std::string_view, 6> kLanguages = {"en", "es", "de", "fr", "ja", "pt"};
constexpr std::array<std::string_view, 3> kStyles = {"4K realistic", "anime", "cinematic"};
constexpr std::array<std::string_view, 3> kEditingStyles = {"film", "vlog", "commercial"};
constexpr std::array<std::string_view, 2> kProductTypes = {"product_anyshot", "product_avatar"};
constexpr std::array<std::string_view, 4> kFailedReasons = {
    "Face not detected in the avatar image", "Audio track is longer than 5 minutes",
    "Rendering timed out", "Internal error, please retry"};

double Credits(const Job& job, const KindRow& row) {
  auto blocks = [&](int seconds) { return (job.video_seconds + seconds - 1) / seconds; };
  if (!row.integer_credits) {
    // A number with decimals, as the ads_clone schema allows.
    return static_cast<double>(job.video_seconds / 4) + 0.5;
  }
  switch (row.shape) {
    case Shape::kCustomTemplate:
      // The prices the API documents per model version.
      if (job.model_version == "aurora_v1") return 20.0 * blocks(15);
      if (job.model_version == "aurora_v1_fast") return 10.0 * blocks(15);
      return 5.0 * blocks(30);
    default:
      return 10.0 * blocks(15);
  }
}

}  // namespace

const KindTable& BuiltinKinds() {
  static const KindTable kKinds = {
      {.name = "ads_clone",
       .path = "/api/ads_clone/",
       .list = false,
       .progress = ProgressStyle::kNone,
       .integer_credits = false,
       .shape = Shape::kAdsClone},
      {.name = "custom_template",
       .path = "/api/custom_template_jobs/",
       .list = true,
       .progress = ProgressStyle::kPercentString,
       .shape = Shape::kCustomTemplate},
      {.name = "aurora",
       .path = "/api/aurora/",
       .list = true,
       .progress = ProgressStyle::kRatioNumber,
       .shape = Shape::kAurora},
      {.name = "lipsync",
       .path = "/api/lipsyncs/",
       .list = true,
       .progress = ProgressStyle::kPercentString,
       .shape = Shape::kLipsync},
      {.name = "lipsync_v2",
       .path = "/api/lipsyncs_v2/",
       .list = true,
       .progress = ProgressStyle::kPercentString,
       .shape = Shape::kLipsyncV2},
      {.name = "ai_short",
       .path = "/api/ai_shorts/",
       .list = true,
       .progress = ProgressStyle::kRatioNumber,
       .shape = Shape::kAiShort},
      {.name = "ai_editing",
       .path = "/api/ai_editing/",
       .list = true,
       .progress = ProgressStyle::kRatioNumber,
       .shape = Shape::kAiEditing},
      {.name = "link_to_video",
       .path = "/api/link_to_videos/",
       .list = true,
       .progress = ProgressStyle::kPercentString,
       .shape = Shape::kLinkToVideo},
      {.name = "text_to_speech",
       .path = "/api/text_to_speech/",
       .list = true,
       .progress = ProgressStyle::kNone,
       .integer_credits = false,
       .shape = Shape::kTextToSpeech},
      {.name = "product_to_video",
       .path = "/api/product_to_videos/",
       .list = true,
       .progress = ProgressStyle::kNone,
       .shape = Shape::kProductToVideo,
       .vocabulary = Vocabulary::kProductSteps},
  };
  return kKinds;
}

std::optional<std::size_t> FindKind(const KindTable& kinds, std::string_view name) {
  for (std::size_t i = 0; i < kinds.size(); ++i) {
    if (kinds[i].name == name) return i;
  }
  return std::nullopt;
}

std::string_view PhaseName(Phase phase) {
  switch (phase) {
    case Phase::kPending:
      return "pending";
    case Phase::kInQueue:
      return "in_queue";
    case Phase::kRunning:
      return "running";
    case Phase::kFailed:
      return "failed";
    case Phase::kDone:
      return "done";
    case Phase::kRejected:
      break;
  }
  return "rejected";
}

bool IsTerminal(Phase phase) {
  return phase == Phase::kDone || phase == Phase::kFailed || phase == Phase::kRejected;
}

Job MakeJob(std::uint64_t seed, std::size_t kind, const KindRow& row, std::size_t index,
            Time created_at, const JobParams& params) {
  std::seed_seq seq{static_cast<std::uint32_t>(seed), static_cast<std::uint32_t>(seed >> 32),
                    static_cast<std::uint32_t>(kind), static_cast<std::uint32_t>(index),
                    static_cast<std::uint32_t>(index >> 32)};
  std::mt19937_64 rng(seq);

  Job job;
  job.kind = kind;
  job.id = Uuid(rng);
  job.created_at = created_at;
  for (auto& stage : job.stages) {
    double factor = 0.5 + Uniform01(rng);
    stage = Millis(std::llround(static_cast<double>(params.stage_duration.count()) * factor));
  }
  double outcome = Uniform01(rng);
  if (outcome < params.failure_ratio) {
    job.outcome = Phase::kFailed;
  } else if (outcome < params.failure_ratio + params.rejection_ratio) {
    job.outcome = Phase::kRejected;
  } else {
    job.outcome = Phase::kDone;
  }
  job.video_seconds = UniformInt(rng, 10, 60);
  // Failed and rejected jobs stop part-way through.
  double stop_at = 0.1 + 0.8 * Uniform01(rng);
  job.final_progress = job.outcome == Phase::kDone ? 1.0 : std::round(stop_at * 100.0) / 100.0;
  // The name is nullable in the schema; one job in eight has none.
  std::size_t name = Pick(rng, kNames.size());
  if (Pick(rng, 8) != 0) job.name = std::string(kNames[name]) + " #" + std::to_string(index + 1);
  job.model_version = kModelVersions[Pick(rng, kModelVersions.size())];
  job.aspect_ratio = kAspectRatios[Pick(rng, kAspectRatios.size())];
  // null means "the language of the reference video".
  std::size_t language = Pick(rng, kLanguages.size() + 1);
  if (language < kLanguages.size()) job.language = std::string(kLanguages[language]);
  job.link = Uuid(rng);
  job.media_job = Uuid(rng);
  job.reference_video =
      "https://media.example.com/reference/" + std::to_string(UniformInt(rng, 1000, 9999)) + ".mp4";
  job.failed_reason = kFailedReasons[Pick(rng, kFailedReasons.size())];
  job.product = kProducts[Pick(rng, kProducts.size())];
  job.is_hidden = Pick(rng, 10) == 0;
  // Drawn after everything above, so that the jobs of the original kinds stay as they were.
  job.style = kStyles[Pick(rng, kStyles.size())];
  job.editing_style = kEditingStyles[Pick(rng, kEditingStyles.size())];
  job.product_type = kProductTypes[Pick(rng, kProductTypes.size())];
  if (row.vocabulary == Vocabulary::kProductSteps && job.outcome == Phase::kRejected) {
    job.outcome = Phase::kFailed;
  }
  job.credits = Credits(job, row);
  return job;
}

JobState StateAt(const Job& job, std::optional<Time> clock_start, Time now) {
  JobState state{.phase = Phase::kPending, .updated_at = job.created_at, .progress = 0};
  if (!clock_start) return state;
  Time queued = *clock_start + job.stages[0];
  Time running = queued + job.stages[1];
  Time ended = running + job.stages[2];
  if (now < queued) return state;
  if (now < running) return {.phase = Phase::kInQueue, .updated_at = queued, .progress = 0};
  if (now < ended) {
    double fraction =
        static_cast<double>((now - running).count()) / static_cast<double>(job.stages[2].count());
    return {.phase = Phase::kRunning,
            .updated_at = running,
            .progress = std::clamp(fraction, 0.0, 1.0) * job.final_progress};
  }
  return {.phase = job.outcome, .updated_at = ended, .progress = job.final_progress};
}

std::string_view StatusWord(const KindRow& row, const JobState& state) {
  switch (row.vocabulary) {
    case Vocabulary::kStandard:
      break;
    case Vocabulary::kProductSteps:
      switch (state.phase) {
        case Phase::kPending:
          return "initializing";
        case Phase::kInQueue:
          return "image_generating";
        case Phase::kRunning:
          // The image is ready for the first part of the run, then the video is made.
          return state.progress < 0.3 ? "image_generated" : "video_generating";
        case Phase::kDone:
          return "video_generated";
        case Phase::kFailed:
        case Phase::kRejected:
          return "failed";
      }
      break;
    case Vocabulary::kCustom: {
      static constexpr std::array<std::string_view, 6> kWords = {
          "created", "waiting", "processing", "error", "completed", "refused"};
      return kWords[static_cast<std::size_t>(state.phase)];
    }
  }
  return PhaseName(state.phase);
}

Phase ReportedPhase(const KindRow& row, Phase phase) {
  if (row.vocabulary == Vocabulary::kProductSteps) {
    if (phase == Phase::kInQueue) return Phase::kRunning;
    if (phase == Phase::kRejected) return Phase::kFailed;
  }
  return phase;
}

std::string UuidFromBits(std::uint64_t high, std::uint64_t low) {
  high = (high & ~0xf000ULL) | 0x4000ULL;                       // version 4
  low = (low & 0x3fffffffffffffffULL) | 0x8000000000000000ULL;  // RFC 4122 variant
  char buf[37];
  std::snprintf(buf, sizeof buf, "%08llx-%04llx-%04llx-%04llx-%012llx",
                static_cast<unsigned long long>(high >> 32),
                static_cast<unsigned long long>((high >> 16) & 0xffff),
                static_cast<unsigned long long>(high & 0xffff),
                static_cast<unsigned long long>(low >> 48),
                static_cast<unsigned long long>(low & 0xffffffffffffULL));
  return buf;
}

std::string FormatTime(Time time) {
  using namespace std::chrono;
  auto day = floor<days>(time);
  year_month_day ymd{day};
  hh_mm_ss<milliseconds> hms{time - day};
  char buf[40];
  std::snprintf(buf, sizeof buf, "%04d-%02u-%02uT%02d:%02d:%02d.%03dZ",
                static_cast<int>(ymd.year()), static_cast<unsigned>(ymd.month()),
                static_cast<unsigned>(ymd.day()), static_cast<int>(hms.hours().count()),
                static_cast<int>(hms.minutes().count()), static_cast<int>(hms.seconds().count()),
                static_cast<int>(hms.subseconds().count()));
  return buf;
}

}  // namespace simulator
