#include "creatify/kind.h"

namespace creatify {
namespace {

// Limits the public documentation states for the lists that take ?ids=.
constexpr int kMaxIds = 100;

// product_to_videos goes through image and video steps instead of the standard words, and has
// no `rejected`.
StatusWords ProductToVideoStatusWords() {
  return {{"initializing", Status::kPending},    {"image_generating", Status::kRunning},
          {"image_generated", Status::kRunning}, {"video_generating", Status::kRunning},
          {"video_generated", Status::kDone},    {"failed", Status::kFailed}};
}

KindTable MakeBuiltinKinds() {
  KindTable kinds = {
      {.name = "ads_clone",
       .config_key = "ads_clone",
       .path = "/api/ads_clone/",
       .progress_scale = ProgressScale::kNone,
       .info_fields = {"aspect_ratio", "language"},
       .on_by_default = true},
      {.name = "custom_template",
       .config_key = "custom_template_jobs",
       .path = "/api/custom_template_jobs/",
       .progress_scale = ProgressScale::kPercent,
       .info_fields = {"name", "model_version"},
       .on_by_default = true},
      {.name = "aurora",
       .config_key = "aurora",
       .path = "/api/aurora/",
       .list = true,
       .max_ids_per_request = kMaxIds,
       .progress_scale = ProgressScale::kFraction,
       .info_fields = {"name"},
       .on_by_default = true},
      {.name = "lipsync",
       .config_key = "lipsyncs",
       .path = "/api/lipsyncs/",
       .list = true,
       .max_ids_per_request = kMaxIds,
       .progress_scale = ProgressScale::kPercent,
       .info_fields = {"aspect_ratio"}},
      {.name = "lipsync_v2",
       .config_key = "lipsyncs_v2",
       .path = "/api/lipsyncs_v2/",
       .list = true,
       .max_ids_per_request = kMaxIds,
       .progress_scale = ProgressScale::kPercent,
       .info_fields = {"name"}},
      {.name = "ai_short",
       .config_key = "ai_shorts",
       .path = "/api/ai_shorts/",
       .list = true,
       .max_ids_per_request = kMaxIds,
       .progress_scale = ProgressScale::kFraction,
       .info_fields = {"name", "aspect_ratio", "style"}},
      {.name = "ai_editing",
       .config_key = "ai_editing",
       .path = "/api/ai_editing/",
       .list = true,
       .max_ids_per_request = kMaxIds,
       .progress_scale = ProgressScale::kFraction,
       .info_fields = {"name", "aspect_ratio", "editing_style"}},
      {.name = "link_to_video",
       .config_key = "link_to_videos",
       .path = "/api/link_to_videos/",
       .list = true,
       .max_ids_per_request = kMaxIds,
       .progress_scale = ProgressScale::kPercent,
       .info_fields = {"name", "aspect_ratio", "language"}},
      {.name = "text_to_speech",
       .config_key = "text_to_speech",
       .path = "/api/text_to_speech/",
       .list = true,
       .max_ids_per_request = kMaxIds,
       .progress_scale = ProgressScale::kNone,
       .info_fields = {}},
      {.name = "product_to_video",
       .config_key = "product_to_videos",
       .path = "/api/product_to_videos/",
       .list = true,
       .max_ids_per_request = kMaxIds,
       .statuses = ProductToVideoStatusWords(),
       .progress_scale = ProgressScale::kNone,
       .info_fields = {"type", "aspect_ratio"}},
  };
  return kinds;
}

}  // namespace

std::string_view ProgressScaleName(ProgressScale scale) {
  switch (scale) {
    case ProgressScale::kFraction:
      return "fraction";
    case ProgressScale::kPercent:
      return "percent";
    case ProgressScale::kNone:
      break;
  }
  return "none";
}

std::optional<ProgressScale> ParseProgressScale(std::string_view word) {
  if (word == "fraction") return ProgressScale::kFraction;
  if (word == "percent") return ProgressScale::kPercent;
  return std::nullopt;
}

StatusWords StandardStatusWords() {
  StatusWords words;
  for (Status status : kAllStatuses) {
    if (status != Status::kUnknown) words.emplace_back(StatusName(status), status);
  }
  return words;
}

const KindTable& BuiltinKinds() {
  static const KindTable kKinds = MakeBuiltinKinds();
  return kKinds;
}

const KindSpec* FindKind(const KindTable& kinds, std::string_view name) {
  for (const auto& kind : kinds) {
    if (kind.name == name) return &kind;
  }
  return nullptr;
}

Status MapStatus(const KindSpec& kind, std::string_view word) {
  for (const auto& [known, status] : kind.statuses) {
    if (known == word) return status;
  }
  return Status::kUnknown;
}

std::string ScopedKind(std::string_view workspace, std::string_view kind) {
  if (workspace.empty()) return std::string(kind);
  std::string scoped;
  scoped.reserve(workspace.size() + 1 + kind.size());
  scoped.append(workspace).append("/").append(kind);
  return scoped;
}

KindScope SplitScopedKind(std::string_view scoped) {
  const size_t slash = scoped.find('/');
  if (slash == std::string_view::npos) return {.workspace = {}, .kind = scoped};
  return {.workspace = scoped.substr(0, slash), .kind = scoped.substr(slash + 1)};
}

}  // namespace creatify
