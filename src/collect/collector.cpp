#include "collect/collector.h"

#include <algorithm>
#include <array>
#include <chrono>
#include <cstring>
#include <span>
#include <vector>

#include "collect/gzip.h"
#include "collect/text_writer.h"
#include "creatify/kind.h"
#include "log/log.h"
#include "state/job_record.h"
#include "state/series.h"

namespace collect {
namespace {

using creatify::Status;
using creatify::StatusName;

constexpr std::string_view kFromLastPoll =
    " Values are from the last successful poll of the Creatify API.";

// The labels of a kind's (or an API endpoint's) series: with workspaces, `workspace` first (the
// name is scoped: creatify::ScopedKind), then `key` with the name alone, then `rest`.
class Scoped {
 public:
  Scoped(std::string_view key, std::string_view scoped, std::initializer_list<Label> rest = {}) {
    labels_.reserve(2 + rest.size());
    if (scoped.find('/') != std::string_view::npos) {
      const creatify::KindScope scope = creatify::SplitScopedKind(scoped);
      labels_.emplace_back("workspace", scope.workspace);
      labels_.emplace_back(key, scope.kind);
    } else {
      labels_.emplace_back(key, scoped);
    }
    labels_.insert(labels_.end(), rest.begin(), rest.end());
  }
  void Add(std::string_view name, std::string_view value) { labels_.emplace_back(name, value); }
  operator std::span<const Label>() const { return labels_; }  // NOLINT: used as labels

 private:
  std::vector<Label> labels_;
};

// True when the config has workspaces: the top-level up, credits and poll duration are then
// replaced by each workspace's.
bool HasWorkspaces(const state::Snapshot& snapshot) {
  return std::any_of(snapshot.workspaces.begin(), snapshot.workspaces.end(),
                     [](const auto& entry) { return entry.second.configured; });
}

// Whether a series of a scoped endpoint is shown: one of a configured workspace, or an unscoped
// one without workspaces (the counts of a workspace taken away stay, hidden).
bool EndpointShown(const state::Snapshot& snapshot, std::string_view scoped) {
  const std::string_view workspace = creatify::SplitScopedKind(scoped).workspace;
  if (workspace.empty()) return !HasWorkspaces(snapshot);
  auto it = snapshot.workspaces.find(std::string(workspace));
  return it != snapshot.workspaces.end() && it->second.configured;
}

// When a counted series started counting, for OpenMetrics' _created (0, unused, in the text
// format).
double Created(const TextWriter& out, const state::Snapshot& snapshot,
               const state::SeriesKey& key) {
  if (!out.open_metrics()) return 0;
  return state::CreatedAt(snapshot, key, snapshot.watching_since);
}

// The labels of a workspace's series: none without workspaces.
std::span<const Label> WorkspaceLabel(const std::string& workspace, Label* storage) {
  if (workspace.empty()) return {};
  *storage = {"workspace", workspace};
  return {storage, 1};
}

std::string WithLastPoll(std::string_view help) {
  std::string out(help);
  out += kFromLastPoll;
  return out;
}

// The per-job gauges of an optional numeric field: a field the API did not send has no sample.
struct JobFieldGauge {
  std::string_view name;
  std::string_view help;
  creatify::OptionalNumber creatify::JobFields::*field;
};

constexpr JobFieldGauge kJobFieldGauges[] = {
    {"creatify_job_progress_ratio", "Per job: progress from 0 to 1.",
     &creatify::JobFields::progress},
    {"creatify_job_video_duration_seconds",
     "Per job: length of the produced video (the API's duration).",
     &creatify::JobFields::video_duration_seconds},
    {"creatify_job_credits_used", "Per job: credits the job used.",
     &creatify::JobFields::credits_used},
    {"creatify_job_created_timestamp_seconds", "Per job: Unix time the job was created.",
     &creatify::JobFields::created_at},
    {"creatify_job_updated_timestamp_seconds", "Per job: Unix time the job was last updated.",
     &creatify::JobFields::updated_at},
};

struct JobFamily {
  std::string_view name;
  std::string_view help;
};

// The per-job families in section order: status, the numeric fields, info.
std::array<JobFamily, kJobFamilies> JobFamilies() {
  std::array<JobFamily, kJobFamilies> families;
  families[0] = {"creatify_job_status",
                 "Per job: 1 for the job's current status, 0 for the others."};
  for (size_t i = 0; i < std::size(kJobFieldGauges); ++i) {
    families[i + 1] = {kJobFieldGauges[i].name, kJobFieldGauges[i].help};
  }
  families[kJobFamilies - 1] = {"creatify_job_info",
                                "Per job, always 1: the job's descriptive fields."};
  return families;
}

// The breakdown families (when breakdown.fields is set): the keys of the field list in force.
void RenderBreakdown(const state::Snapshot& snapshot, TextWriter& out) {
  const std::vector<std::string>& fields = snapshot.breakdown.fields;
  if (fields.empty()) return;
  auto in_force = [&](const state::BreakdownKey& key) {
    if (key.size() != fields.size()) return false;
    for (size_t i = 0; i < key.size(); ++i) {
      if (key[i].first != fields[i]) return false;
    }
    return true;
  };
  std::vector<Label> labels;
  auto fill = [&](std::string_view kind, std::optional<Status> status,
                  const state::BreakdownKey& key) {
    labels.clear();
    if (kind.find('/') != std::string_view::npos) {
      const creatify::KindScope scope = creatify::SplitScopedKind(kind);
      labels.emplace_back("workspace", scope.workspace);
      labels.emplace_back("kind", scope.kind);
    } else {
      labels.emplace_back("kind", kind);
    }
    if (status) labels.emplace_back("status", StatusName(*status));
    for (const auto& [field, value] : key) labels.emplace_back(field, value);
  };
  constexpr std::string_view kCompleted = "creatify_breakdown_jobs_completed_total";
  out.Family(
      kCompleted,
      WithLastPoll("The jobs of creatify_jobs_completed_total by the breakdown fields: "
                   "\"\" when a job has no such field, \"other\" past breakdown.max_values."),
      "counter");
  for (const auto& kind : snapshot.kinds) {
    for (const auto& [key, count] : kind.breakdown) {
      if (!in_force(key)) continue;
      for (const auto& [status, value] : count.completed) {
        fill(kind.name, status, key);
        out.Counter(
            kCompleted, labels, value,
            Created(out, snapshot,
                    {"breakdown_completed", kind.name, state::BreakdownKeyText(key, status)}));
      }
    }
  }
  constexpr std::string_view kCredits = "creatify_breakdown_credits_used_total";
  out.Family(kCredits,
             WithLastPoll("The credits of creatify_credits_used_total by the breakdown fields."),
             "counter");
  for (const auto& kind : snapshot.kinds) {
    for (const auto& [key, count] : kind.breakdown) {
      if (!in_force(key)) continue;
      fill(kind.name, std::nullopt, key);
      out.Counter(
          kCredits, labels, count.credits_used,
          Created(out, snapshot,
                  {"breakdown_credits", kind.name, state::BreakdownKeyText(key, std::nullopt)}));
    }
  }
}

void RenderJobFamilies(const state::Snapshot& snapshot, TextWriter& out) {
  out.Family("creatify_jobs",
             WithLastPoll("Shown Creatify jobs per status: unfinished jobs, and finished ones "
                          "within terminal_retention of their terminal transition."),
             "gauge");
  for (const auto& kind : snapshot.kinds) {
    std::array<double, creatify::kAllStatuses.size()> per_status{};
    for (const auto& record : kind.jobs) {
      if (!record->unread) per_status[static_cast<size_t>(record->status)] += 1;
    }
    for (Status status : creatify::kAllStatuses) {
      out.Sample("creatify_jobs", Scoped("kind", kind.name, {{"status", StatusName(status)}}),
                 per_status[static_cast<size_t>(status)]);
    }
  }
  out.Family("creatify_jobs_completed_total",
             WithLastPoll("Jobs this exporter observed reaching a terminal status (done, failed, "
                          "rejected), once per job. Jobs already terminal when first seen are not "
                          "counted unless created after the exporter started watching."),
             "counter");
  for (const auto& kind : snapshot.kinds) {
    for (Status status : creatify::kTerminalStatuses) {
      out.Counter(
          "creatify_jobs_completed_total",
          Scoped("kind", kind.name, {{"status", StatusName(status)}}), kind.completed.at(status),
          Created(out, snapshot, {"completed", kind.name, std::string(StatusName(status))}));
    }
  }
  out.Family("creatify_credits_used_total",
             WithLastPoll("Credits used by the jobs counted in creatify_jobs_completed_total, "
                          "added at their terminal transition."),
             "counter");
  for (const auto& kind : snapshot.kinds) {
    out.Counter("creatify_credits_used_total", Scoped("kind", kind.name), kind.credits_used,
                Created(out, snapshot, {"credits_used", kind.name, ""}));
  }
  out.Family("creatify_job_processing_seconds",
             WithLastPoll("Time from creation to terminal status (updated_at - created_at) of "
                          "the jobs counted in creatify_jobs_completed_total."),
             "histogram");
  for (const auto& kind : snapshot.kinds) {
    for (Status status : creatify::kTerminalStatuses) {
      out.Histogram(
          "creatify_job_processing_seconds",
          Scoped("kind", kind.name, {{"status", StatusName(status)}}), kind.processing.at(status),
          Created(out, snapshot, {"processing", kind.name, std::string(StatusName(status))}));
    }
  }
  out.Family(
      "creatify_job_stage_seconds",
      WithLastPoll("Time in each stage of the jobs counted in "
                   "creatify_jobs_completed_total whose first read saw them pending or "
                   "in_queue: stage=\"queued\" from created_at to the end of the first poll that "
                   "saw the job running (or terminal, if none did), stage=\"running\" from "
                   "then to its terminal updated_at."),
      "histogram");
  for (const auto& kind : snapshot.kinds) {
    for (const char* stage : {"queued", "running"}) {
      out.Histogram("creatify_job_stage_seconds", Scoped("kind", kind.name, {{"stage", stage}}),
                    kind.stage.at(stage), Created(out, snapshot, {"stage", kind.name, stage}));
    }
  }
  out.Family("creatify_oldest_unfinished_job_created_timestamp_seconds",
             WithLastPoll("The created_at (Unix time) of the oldest shown job in each unfinished "
                          "status (pending, in_queue, running, unknown), among the jobs read that "
                          "have one; absent when the status has none."),
             "gauge");
  for (const auto& kind : snapshot.kinds) {
    for (const auto& [status, created] : kind.oldest_unfinished) {
      out.Sample("creatify_oldest_unfinished_job_created_timestamp_seconds",
                 Scoped("kind", kind.name, {{"status", StatusName(status)}}), created);
    }
  }
  out.Family("creatify_remaining_credits", WithLastPoll("Remaining credits of the workspace."),
             "gauge");
  Label label;
  const bool workspaces = HasWorkspaces(snapshot);
  if (!workspaces) {
    if (snapshot.remaining_credits) {
      out.Sample("creatify_remaining_credits", {}, *snapshot.remaining_credits);
    }
  }
  for (const auto& [name, workspace] : snapshot.workspaces) {
    if (workspace.configured && workspace.remaining_credits) {
      out.Sample("creatify_remaining_credits", WorkspaceLabel(name, &label),
                 *workspace.remaining_credits);
    }
  }
  out.Family("creatify_up",
             "1 when the last poll cycle got good answers from the Creatify API, else 0.", "gauge");
  if (!workspaces) out.Sample("creatify_up", {}, snapshot.up ? 1 : 0);
  for (const auto& [name, workspace] : snapshot.workspaces) {
    if (workspace.configured) {
      out.Sample("creatify_up", WorkspaceLabel(name, &label), workspace.up ? 1 : 0);
    }
  }
  RenderBreakdown(snapshot, out);
}

void RenderExporterFamilies(const state::Snapshot& snapshot, const RenderOptions& options,
                            std::optional<double> last_render_seconds, TextWriter& out) {
  out.Family("creatify_exporter_api_requests_total",
             "Requests made to the Creatify API, by endpoint and HTTP status or error class "
             "(timeout, connect, tls, read, write, parse, error).",
             "counter");
  for (const auto& [key, value] : snapshot.api_requests) {
    if (!EndpointShown(snapshot, key.first)) continue;
    out.Counter("creatify_exporter_api_requests_total",
                Scoped("endpoint", key.first, {{"code", key.second}}), value,
                Created(out, snapshot, {"api_requests", key.first, key.second}));
  }
  out.Family("creatify_exporter_api_request_duration_seconds",
             "Duration of requests to the Creatify API.", "histogram");
  for (const auto& [endpoint, histogram] : snapshot.api_request_duration) {
    if (!EndpointShown(snapshot, endpoint)) continue;
    out.Histogram("creatify_exporter_api_request_duration_seconds", Scoped("endpoint", endpoint),
                  histogram, Created(out, snapshot, {"api_request_duration", endpoint, ""}));
  }
  out.Family("creatify_exporter_last_successful_poll_timestamp_seconds",
             "Unix time of the last poll cycle in which every request of the kind succeeded.",
             "gauge");
  for (const auto& kind : snapshot.kinds) {
    if (kind.last_success) {
      out.Sample("creatify_exporter_last_successful_poll_timestamp_seconds",
                 Scoped("kind", kind.name), *kind.last_success);
    }
  }
  out.Family("creatify_exporter_poll_duration_seconds", "Duration of one poll cycle.", "histogram");
  if (!HasWorkspaces(snapshot)) {
    out.Histogram("creatify_exporter_poll_duration_seconds", {}, snapshot.poll_duration,
                  Created(out, snapshot, {"poll_duration", "", ""}));
  }
  Label label;
  for (const auto& [name, workspace] : snapshot.workspaces) {
    if (workspace.configured) {
      out.Histogram("creatify_exporter_poll_duration_seconds", WorkspaceLabel(name, &label),
                    workspace.poll_duration, Created(out, snapshot, {"poll_duration", name, ""}));
    }
  }
  out.Family("creatify_exporter_invalid_items_total",
             "Jobs skipped whole because the API's item was malformed (not an object, no usable "
             "id).",
             "counter");
  for (const auto& kind : snapshot.kinds) {
    out.Counter("creatify_exporter_invalid_items_total", Scoped("kind", kind.name),
                kind.invalid_items, Created(out, snapshot, {"invalid_items", kind.name, ""}));
  }
  out.Family("creatify_exporter_invalid_fields_total",
             "Job fields skipped because the API sent an unexpected type or value.", "counter");
  for (const auto& kind : snapshot.kinds) {
    for (const auto& [field, value] : kind.invalid_fields) {
      out.Counter("creatify_exporter_invalid_fields_total",
                  Scoped("kind", kind.name, {{"field", field}}), value,
                  Created(out, snapshot, {"invalid_fields", kind.name, field}));
    }
  }
  out.Family("creatify_exporter_jobs_dropped_total",
             "Jobs not tracked: reason=\"limit\" when max_tracked_jobs was reached (once per job), "
             "reason=\"not_found\" when a job asked for answered 404, or was left out of an ?ids= "
             "answer, three polls in a row.",
             "counter");
  for (const auto& kind : snapshot.kinds) {
    for (const auto& [reason, value] : kind.dropped) {
      out.Counter("creatify_exporter_jobs_dropped_total",
                  Scoped("kind", kind.name, {{"reason", reason}}), value,
                  Created(out, snapshot, {"dropped", kind.name, reason}));
    }
  }
  out.Family("creatify_exporter_remembered_jobs",
             "Finished jobs that left the output and whose ids are remembered (until "
             "state.forget_after), so that they are never counted twice.",
             "gauge");
  for (const auto& kind : snapshot.kinds) {
    out.Sample("creatify_exporter_remembered_jobs", Scoped("kind", kind.name),
               static_cast<double>(kind.remembered));
  }
  out.Family("creatify_exporter_state_restored",
             "1 when the exporter started from a good state file, else 0.", "gauge");
  out.Sample("creatify_exporter_state_restored", {}, snapshot.persistence.restored ? 1 : 0);
  out.Family("creatify_exporter_state_write_errors_total",
             "Failed writes of the state file since the exporter started.", "counter");
  // Counted by this process only: it started counting when the process did.
  out.Counter("creatify_exporter_state_write_errors_total", {}, snapshot.persistence.write_errors,
              snapshot.process_started_at);
  out.Family("creatify_exporter_state_last_write_timestamp_seconds",
             "Unix time of the last successful write of the state file.", "gauge");
  if (snapshot.persistence.last_write) {
    out.Sample("creatify_exporter_state_last_write_timestamp_seconds", {},
               *snapshot.persistence.last_write);
  }
  out.Family("creatify_exporter_webhook_requests_total",
             "Calls to the webhook receiver (POST /webhook/{kind}/{token}), by kind and result.",
             "counter");
  for (const auto& [key, value] : snapshot.webhook_requests) {
    // A kind switched off leaves the output (its counts come back with it).
    // The calls of no known kind: "other" without workspaces, "/other" (workspace="") with.
    const std::string_view other = HasWorkspaces(snapshot) ? "/other" : "other";
    if (key.first != other && snapshot.FindKind(key.first) == nullptr) continue;
    out.Counter("creatify_exporter_webhook_requests_total",
                Scoped("kind", key.first, {{"result", key.second}}), value,
                Created(out, snapshot, {"webhook_requests", key.first, key.second}));
  }
  // Only with forwarding (several shards and a peer URL): an unsharded exporter shows neither.
  if (snapshot.webhook_forwards_waiting) {
    out.Family("creatify_exporter_webhook_forwards_total",
               "Webhook calls handed to the replica that owns their job, by kind and how the "
               "hand-over ended.",
               "counter");
    for (const auto& [key, value] : snapshot.webhook_forwards) {
      if (snapshot.FindKind(key.first) == nullptr) continue;
      out.Counter("creatify_exporter_webhook_forwards_total",
                  Scoped("kind", key.first, {{"result", key.second}}), value,
                  Created(out, snapshot, {"webhook_forwards", key.first, key.second}));
    }
    out.Family("creatify_exporter_webhook_forwards_waiting",
               "Webhook calls waiting to be handed to the replica that owns their job.", "gauge");
    out.Sample("creatify_exporter_webhook_forwards_waiting", {},
               *snapshot.webhook_forwards_waiting);
  }
  out.Family("creatify_exporter_ids_file_ids", "Job ids in the kind's ids_file, as last read.",
             "gauge");
  for (const auto& [kind, file] : snapshot.ids_files) {
    out.Sample("creatify_exporter_ids_file_ids", Scoped("kind", kind), file.ids);
  }
  out.Family("creatify_exporter_ids_file_invalid_lines",
             "Lines of the kind's ids_file, as last read, that are not a job id (they are "
             "ignored).",
             "gauge");
  for (const auto& [kind, file] : snapshot.ids_files) {
    out.Sample("creatify_exporter_ids_file_invalid_lines", Scoped("kind", kind),
               file.invalid_lines);
  }
  out.Family("creatify_exporter_ids_file_read_errors_total",
             "Failed reads of the kind's ids_file (the ids last read stay in use).", "counter");
  for (const auto& [kind, file] : snapshot.ids_files) {
    out.Counter("creatify_exporter_ids_file_read_errors_total", Scoped("kind", kind),
                file.read_errors, snapshot.process_started_at);
  }
  out.Family("creatify_exporter_config_last_reload_successful",
             "1 when the last load of the configuration (start-up, SIGHUP, POST /-/reload) "
             "succeeded, else 0.",
             "gauge");
  out.Sample("creatify_exporter_config_last_reload_successful", {},
             snapshot.reload.successful ? 1 : 0);
  out.Family("creatify_exporter_config_last_reload_success_timestamp_seconds",
             "Unix time of the last successful load of the configuration.", "gauge");
  out.Sample("creatify_exporter_config_last_reload_success_timestamp_seconds", {},
             snapshot.reload.last_success);
  if (snapshot.web_config.watched) {
    out.Family("creatify_exporter_web_config_last_reload_successful",
               "1 when the last load of the web config (--web.config.file and the files it names, "
               "read again when they change) succeeded, else 0: the last good one stays in force.",
               "gauge");
    out.Sample("creatify_exporter_web_config_last_reload_successful", {},
               snapshot.web_config.successful ? 1 : 0);
    out.Family("creatify_exporter_web_config_last_reload_success_timestamp_seconds",
               "Unix time the web config in force was loaded.", "gauge");
    out.Sample("creatify_exporter_web_config_last_reload_success_timestamp_seconds", {},
               snapshot.web_config.last_success);
  }
  out.Family("creatify_exporter_render_seconds",
             "How long the previous render of the /metrics body took (once per change of the "
             "state; scrapes serve the rendered body).",
             "gauge");
  if (last_render_seconds) out.Sample("creatify_exporter_render_seconds", {}, *last_render_seconds);
  out.Family("creatify_exporter_build_info",
             "Always 1: the version of creatify-exporter and the git revision it was built from.",
             "gauge");
  out.Sample("creatify_exporter_build_info",
             {{"version", options.version}, {"revision", options.revision}}, 1);
  out.Family("creatify_exporter_shard_info",
             "Always 1: this replica's shard and the number of shards the jobs are split over "
             "(--shard, --total-shards). Only this family carries a shard label: the job series "
             "of all replicas add up.",
             "gauge");
  const std::string shard = std::to_string(options.shard);
  const std::string total = std::to_string(options.total_shards);
  out.Sample("creatify_exporter_shard_info", {{"shard", shard}, {"total_shards", total}}, 1);
}

}  // namespace

void RenderJobLines(const RenderOptions& options, std::string_view kind, state::JobRecord* record) {
  record->lines.clear();
  record->section_end.fill(0);
  if (!options.per_job_metrics || record->unread) return;
  std::string& lines = record->lines;
  TextWriter out(&lines);
  const std::string_view id = record->job.id;
  for (Status status : creatify::kAllStatuses) {
    out.Sample("creatify_job_status",
               Scoped("kind", kind, {{"job_id", id}, {"status", StatusName(status)}}),
               record->status == status ? 1 : 0);
  }
  record->section_end[0] = static_cast<uint32_t>(lines.size());
  for (size_t i = 0; i < std::size(kJobFieldGauges); ++i) {
    const auto& value = record->job.*(kJobFieldGauges[i].field);
    if (value) out.Sample(kJobFieldGauges[i].name, Scoped("kind", kind, {{"job_id", id}}), *value);
    record->section_end[i + 1] = static_cast<uint32_t>(lines.size());
  }
  Scoped labels("kind", kind, {{"job_id", id}});
  for (const auto& [field, value] : record->job.info) labels.Add(field, value);
  out.Sample("creatify_job_info", labels, 1);
  record->section_end[kJobFamilies - 1] = static_cast<uint32_t>(lines.size());
  lines.shrink_to_fit();
}

template <typename F>
bool Exposition::ForEachPiece(Format format, F&& piece) const {
  const Form& form = Of(format);
  if (!piece(std::string_view(form.head))) return false;
  for (size_t section = 0; section < form.job_headers.size(); ++section) {
    if (!piece(std::string_view(form.job_headers[section]))) return false;
    for (size_t k = 0; k < snapshot_->kinds.size(); ++k) {
      const auto& kind = snapshot_->kinds[k];
      if (!rendered_here_[k].empty()) {
        for (const auto& record : rendered_here_[k]) {
          if (!piece(record.Section(section))) return false;
        }
        continue;
      }
      for (const auto& record : kind.jobs) {
        if (!piece(record->Section(section))) return false;
      }
    }
  }
  return piece(std::string_view(form.tail));
}

GzipBody Exposition::Gzip(Format format, GzipBuilder& gzip) const {
  // A kind's records are cut into pieces where an id's hash says so, not every N records: a job
  // that comes or goes changes one piece, not every piece after it. The pieces of the records are
  // the same text in both formats, under the same keys: the second format's body reuses them.
  constexpr uint64_t kMeanPieceRecords = 256;
  constexpr size_t kMaxPieceRecords = 2048;
  const Form& form = Of(format);
  gzip.Begin();
  gzip.AddText(form.head);
  std::string text;
  for (size_t section = 0; section < form.job_headers.size(); ++section) {
    gzip.AddText(form.job_headers[section]);
    for (size_t k = 0; k < snapshot_->kinds.size(); ++k) {
      const auto& kind = snapshot_->kinds[k];
      if (!rendered_here_[k].empty()) {
        text.clear();
        for (const auto& record : rendered_here_[k]) text.append(record.Section(section));
        gzip.AddText(text);
        continue;
      }
      const auto records = kind.jobs.entries();
      size_t first = 0;
      for (size_t i = 1; i <= records.size(); ++i) {
        const bool cut = i == records.size() || i - first >= kMaxPieceRecords ||
                         state::IdHash(records[i]->job.id) % kMeanPieceRecords == 0;
        if (!cut) continue;
        std::string key = kind.name;
        key += '\0';
        key += std::to_string(section);
        key += '\0';
        key += records[first]->job.id;
        gzip.AddRecords(std::move(key), section, records.subspan(first, i - first));
        first = i;
      }
    }
  }
  gzip.AddText(form.tail);
  return gzip.Finish();
}

Exposition::Reader::Reader(std::shared_ptr<const Exposition> exposition, Format format)
    : exposition_(std::move(exposition)), format_(format) {}

size_t Exposition::Reader::Records(size_t kind) const {
  const auto& here = exposition_->rendered_here_[kind];
  return here.empty() ? exposition_->snapshot_->kinds[kind].jobs.size() : here.size();
}

std::string_view Exposition::Reader::Piece() const {
  const Exposition& e = *exposition_;
  const Form& form = e.Of(format_);
  if (section_ == 0) return form.head;
  const size_t section = section_ - 1;
  if (section == form.job_headers.size()) return form.tail;
  if (kind_ == 0) return form.job_headers[section];
  const size_t kind = kind_ - 1;
  if (!e.rendered_here_[kind].empty()) return e.rendered_here_[kind][record_].Section(section);
  return e.snapshot_->kinds[kind].jobs.entries()[record_]->Section(section);
}

void Exposition::Reader::Settle() {
  const size_t sections = exposition_->Of(format_).job_headers.size();
  for (;;) {
    if (section_ == 0) return;
    if (section_ - 1 > sections) {
      done_ = true;
      return;
    }
    // The tail.
    if (section_ - 1 == sections) return;
    if (kind_ == 0) return;
    if (kind_ - 1 >= exposition_->snapshot_->kinds.size()) {
      ++section_;
      kind_ = 0;
      record_ = 0;
      continue;
    }
    if (record_ >= Records(kind_ - 1)) {
      ++kind_;
      record_ = 0;
      continue;
    }
    return;
  }
}

void Exposition::Reader::Next() {
  offset_ = 0;
  const size_t sections = exposition_->Of(format_).job_headers.size();
  if (section_ == 0 || section_ - 1 == sections) {
    ++section_;
  } else if (kind_ == 0) {
    kind_ = 1;
  } else {
    ++record_;
  }
  Settle();
}

size_t Exposition::Reader::Read(char* buffer, size_t capacity) {
  size_t copied = 0;
  while (copied < capacity && !done_) {
    const std::string_view piece = Piece();
    const size_t take = std::min(piece.size() - offset_, capacity - copied);
    std::memcpy(buffer + copied, piece.data() + offset_, take);
    copied += take;
    offset_ += take;
    if (offset_ == piece.size()) Next();
  }
  return copied;
}

std::string Exposition::Text(Format format) const {
  std::string text;
  text.reserve(Of(format).size);
  ForEachPiece(format, [&](std::string_view piece) {
    text.append(piece);
    return true;
  });
  return text;
}

std::shared_ptr<const Exposition> Render(std::shared_ptr<const state::Snapshot> snapshot,
                                         const RenderOptions& options,
                                         std::optional<double> last_render_seconds,
                                         GzipBuilder* gzip) {
  auto exposition = std::make_shared<Exposition>();
  for (Format format : {Format::kText, Format::kOpenMetrics}) {
    Exposition::Form& form = exposition->forms_[static_cast<size_t>(format)];
    TextWriter head(&form.head, format);
    RenderJobFamilies(*snapshot, head);
    RenderExporterFamilies(*snapshot, options, last_render_seconds, head);
    if (options.per_job_metrics) {
      for (const auto& family : JobFamilies()) {
        std::string header;
        TextWriter(&header, format).Family(family.name, WithLastPoll(family.help), "gauge");
        form.job_headers.push_back(std::move(header));
      }
    }
    if (format == Format::kOpenMetrics) form.tail = "# EOF\n";
  }
  exposition->rendered_here_.resize(snapshot->kinds.size());
  if (options.per_job_metrics) {
    // A store made without a renderer (tests) hands out records without lines. A job known only
    // by its id (unread) has none either way: it is not shown.
    for (size_t k = 0; k < snapshot->kinds.size(); ++k) {
      const auto& kind = snapshot->kinds[k];
      bool bare = false;
      for (const auto& record : kind.jobs)
        bare = bare || (record->lines.empty() && !record->unread);
      if (!bare) continue;
      exposition->rendered_here_[k].reserve(kind.jobs.size());
      for (const auto& record : kind.jobs) {
        state::JobRecord copy = *record;
        RenderJobLines(options, kind.name, &copy);
        exposition->rendered_here_[k].push_back(std::move(copy));
      }
    }
  }
  exposition->snapshot_ = std::move(snapshot);
  GzipBuilder once;
  if (gzip == nullptr) gzip = &once;
  gzip->StartRender();
  for (Format format : {Format::kText, Format::kOpenMetrics}) {
    Exposition::Form& form = exposition->forms_[static_cast<size_t>(format)];
    size_t size = 0;
    exposition->ForEachPiece(format, [&](std::string_view piece) {
      size += piece.size();
      return true;
    });
    form.size = size;
    // The second format's body reuses the first's pieces of the job lines.
    if (options.gzip) form.gzip = exposition->Gzip(format, *gzip);
  }
  return exposition;
}

std::string RenderText(const state::Snapshot& snapshot, const RenderOptions& options,
                       Format format) {
  auto no_gzip = options;
  no_gzip.gzip = false;
  // The snapshot is borrowed: an aliasing pointer that owns nothing.
  std::shared_ptr<const state::Snapshot> borrowed(std::shared_ptr<const state::Snapshot>(),
                                                  &snapshot);
  return Render(borrowed, no_gzip)->Text(format);
}

RenderOptions Publisher::options() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return options_;
}

void Publisher::SetOptions(RenderOptions options) {
  std::lock_guard<std::mutex> lock(mutex_);
  options_ = std::move(options);
}

void Publisher::Publish(std::shared_ptr<const state::Snapshot> snapshot) {
  const auto start = std::chrono::steady_clock::now();
  std::lock_guard<std::mutex> render_lock(render_mutex_);
  auto next = Render(std::move(snapshot), options(), last_render_seconds_, &gzip_);
  last_render_seconds_ =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (logging::Enabled(logging::Level::kDebug)) {
    logging::Debug("Rendered /metrics",
                   {{"seconds", std::to_string(*last_render_seconds_)},
                    {"bytes", std::to_string(next->size())},
                    {"gzip_bytes", std::to_string(next->gzip().size())},
                    {"gzip_pieces_compressed", std::to_string(gzip_.compressed())},
                    {"gzip_pieces_reused", std::to_string(gzip_.reused())}});
  }
  std::lock_guard<std::mutex> lock(mutex_);
  current_ = std::move(next);
}

std::shared_ptr<const Exposition> Publisher::Current() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return current_;
}

}  // namespace collect
