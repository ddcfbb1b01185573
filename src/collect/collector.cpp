#include "collect/collector.h"

#include <prometheus/text_serializer.h>

#include <sstream>

#include "creatify/kind.h"

namespace collect {
namespace {

using creatify::Status;
using creatify::StatusName;
using prometheus::ClientMetric;
using prometheus::MetricFamily;
using prometheus::MetricType;

constexpr char kFromLastPoll[] = " Values are from the last successful poll of the Creatify API.";

MetricFamily Family(std::string name, std::string help, MetricType type) {
  MetricFamily family;
  family.name = std::move(name);
  family.help = std::move(help);
  family.type = type;
  return family;
}

// Label values reach Prometheus' parser: keep them free of control characters other than the
// newline, which the serializer escapes.
std::string CleanLabelValue(std::string_view value) {
  std::string out(value);
  for (char& c : out) {
    if (static_cast<unsigned char>(c) < 0x20 && c != '\n') c = ' ';
  }
  return out;
}

ClientMetric::Label Label(std::string name, std::string_view value) {
  return {std::move(name), CleanLabelValue(value)};
}

void AddGauge(MetricFamily& family, std::vector<ClientMetric::Label> labels, double value) {
  ClientMetric metric;
  metric.label = std::move(labels);
  metric.gauge.value = value;
  family.metric.push_back(std::move(metric));
}

void AddCounter(MetricFamily& family, std::vector<ClientMetric::Label> labels, double value) {
  ClientMetric metric;
  metric.label = std::move(labels);
  metric.counter.value = value;
  family.metric.push_back(std::move(metric));
}

void AddHistogram(MetricFamily& family, std::vector<ClientMetric::Label> labels,
                  const state::Histogram& histogram) {
  ClientMetric metric;
  metric.label = std::move(labels);
  metric.histogram.sample_count = histogram.count();
  metric.histogram.sample_sum = histogram.sum();
  const auto& bounds = histogram.upper_bounds();
  for (size_t i = 0; i < bounds.size(); ++i) {
    metric.histogram.bucket.push_back({histogram.CumulativeCount(i), bounds[i]});
  }
  family.metric.push_back(std::move(metric));
}

void RenderJobFamilies(const state::Snapshot& snapshot, std::vector<MetricFamily>& out) {
  auto jobs =
      Family("creatify_jobs", std::string("Tracked Creatify jobs per status.") + kFromLastPoll,
             MetricType::Gauge);
  auto completed = Family(
      "creatify_jobs_completed_total",
      std::string("Jobs this exporter observed reaching a terminal status (done, failed, "
                  "rejected), once per job. Jobs already terminal when first seen are not counted "
                  "unless created after the exporter started.") +
          kFromLastPoll,
      MetricType::Counter);
  auto credits = Family("creatify_credits_used_total",
                        std::string("Credits used by the jobs counted in "
                                    "creatify_jobs_completed_total, added at their terminal "
                                    "transition.") +
                            kFromLastPoll,
                        MetricType::Counter);
  auto processing = Family("creatify_job_processing_seconds",
                           std::string("Time from creation to terminal status (updated_at - "
                                       "created_at) of the jobs counted in "
                                       "creatify_jobs_completed_total.") +
                               kFromLastPoll,
                           MetricType::Histogram);
  for (const auto& kind : snapshot.kinds) {
    std::map<Status, double> per_status;
    for (Status status : creatify::kAllStatuses) per_status[status] = 0;
    for (const auto& [id, job] : kind.jobs) per_status[job.status] += 1;
    for (Status status : creatify::kAllStatuses) {
      AddGauge(jobs, {Label("kind", kind.name), Label("status", StatusName(status))},
               per_status[status]);
    }
    for (Status status : creatify::kTerminalStatuses) {
      AddCounter(completed, {Label("kind", kind.name), Label("status", StatusName(status))},
                 kind.completed.at(status));
    }
    AddCounter(credits, {Label("kind", kind.name)}, kind.credits_used);
    for (Status status : creatify::kTerminalStatuses) {
      AddHistogram(processing, {Label("kind", kind.name), Label("status", StatusName(status))},
                   kind.processing.at(status));
    }
  }
  out.push_back(std::move(jobs));
  out.push_back(std::move(completed));
  out.push_back(std::move(credits));
  out.push_back(std::move(processing));

  auto remaining =
      Family("creatify_remaining_credits",
             std::string("Remaining credits of the workspace.") + kFromLastPoll, MetricType::Gauge);
  if (snapshot.remaining_credits) AddGauge(remaining, {}, *snapshot.remaining_credits);
  out.push_back(std::move(remaining));

  auto up = Family("creatify_up",
                   "1 when the last poll cycle got good answers from the Creatify API, else 0.",
                   MetricType::Gauge);
  AddGauge(up, {}, snapshot.up ? 1 : 0);
  out.push_back(std::move(up));
}

void RenderExporterFamilies(const state::Snapshot& snapshot, const RenderOptions& options,
                            std::vector<MetricFamily>& out) {
  auto requests = Family("creatify_exporter_api_requests_total",
                         "Requests made to the Creatify API, by endpoint and HTTP status or error "
                         "class (timeout, connect, tls, read, write, parse, error).",
                         MetricType::Counter);
  for (const auto& [key, value] : snapshot.api_requests) {
    AddCounter(requests, {Label("endpoint", key.first), Label("code", key.second)}, value);
  }
  out.push_back(std::move(requests));

  auto durations = Family("creatify_exporter_api_request_duration_seconds",
                          "Duration of requests to the Creatify API.", MetricType::Histogram);
  for (const auto& [endpoint, histogram] : snapshot.api_request_duration) {
    AddHistogram(durations, {Label("endpoint", endpoint)}, histogram);
  }
  out.push_back(std::move(durations));

  auto last_success = Family("creatify_exporter_last_successful_poll_timestamp_seconds",
                             "Unix time of the last poll cycle in which every request of the kind "
                             "succeeded.",
                             MetricType::Gauge);
  for (const auto& kind : snapshot.kinds) {
    if (kind.last_success) AddGauge(last_success, {Label("kind", kind.name)}, *kind.last_success);
  }
  out.push_back(std::move(last_success));

  auto poll = Family("creatify_exporter_poll_duration_seconds", "Duration of one poll cycle.",
                     MetricType::Histogram);
  AddHistogram(poll, {}, snapshot.poll_duration);
  out.push_back(std::move(poll));

  auto items = Family("creatify_exporter_invalid_items_total",
                      "Jobs skipped whole because the API's item was malformed (not an object, "
                      "no usable id).",
                      MetricType::Counter);
  auto fields = Family("creatify_exporter_invalid_fields_total",
                       "Job fields skipped because the API sent an unexpected type or value.",
                       MetricType::Counter);
  for (const auto& kind : snapshot.kinds) {
    AddCounter(items, {Label("kind", kind.name)}, kind.invalid_items);
    for (const auto& [field, value] : kind.invalid_fields) {
      AddCounter(fields, {Label("kind", kind.name), Label("field", field)}, value);
    }
  }
  out.push_back(std::move(items));
  out.push_back(std::move(fields));

  auto build = Family("creatify_exporter_build_info",
                      "Always 1: the version of creatify-exporter and the git revision it was "
                      "built from.",
                      MetricType::Gauge);
  AddGauge(build, {Label("version", options.version), Label("revision", options.revision)}, 1);
  out.push_back(std::move(build));
}

// The per-job gauges of an optional numeric field: a field the API did not send has no sample.
struct JobFieldGauge {
  const char* name;
  const char* help;
  std::optional<double> creatify::Job::*field;
};

constexpr JobFieldGauge kJobFieldGauges[] = {
    {"creatify_job_progress_ratio", "Per job: progress from 0 to 1.", &creatify::Job::progress},
    {"creatify_job_video_duration_seconds",
     "Per job: length of the produced video (the API's duration).",
     &creatify::Job::video_duration_seconds},
    {"creatify_job_credits_used", "Per job: credits the job used.", &creatify::Job::credits_used},
    {"creatify_job_created_timestamp_seconds", "Per job: Unix time the job was created.",
     &creatify::Job::created_at},
    {"creatify_job_updated_timestamp_seconds", "Per job: Unix time the job was last updated.",
     &creatify::Job::updated_at},
};

void RenderPerJobFamilies(const state::Snapshot& snapshot, std::vector<MetricFamily>& out) {
  auto status = Family(
      "creatify_job_status",
      std::string("Per job: 1 for the job's current status, 0 for the others.") + kFromLastPoll,
      MetricType::Gauge);
  std::vector<MetricFamily> fields;
  for (const auto& gauge : kJobFieldGauges) {
    fields.push_back(
        Family(gauge.name, gauge.help + std::string(kFromLastPoll), MetricType::Gauge));
  }
  auto info =
      Family("creatify_job_info",
             std::string("Per job, always 1: the job's descriptive fields.") + kFromLastPoll,
             MetricType::Gauge);

  for (const auto& kind : snapshot.kinds) {
    for (const auto& [id, tracked] : kind.jobs) {
      const auto& job = tracked.job;
      auto base = [&] { return std::vector{Label("kind", kind.name), Label("job_id", id)}; };
      for (Status s : creatify::kAllStatuses) {
        auto labels = base();
        labels.push_back(Label("status", StatusName(s)));
        AddGauge(status, std::move(labels), tracked.status == s ? 1 : 0);
      }
      for (size_t i = 0; i < std::size(kJobFieldGauges); ++i) {
        const auto& value = job.*(kJobFieldGauges[i].field);
        if (value) AddGauge(fields[i], base(), *value);
      }
      auto labels = base();
      for (const auto& [field, value] : job.info) labels.push_back(Label(field, value));
      AddGauge(info, std::move(labels), 1);
    }
  }
  out.push_back(std::move(status));
  for (auto& family : fields) out.push_back(std::move(family));
  out.push_back(std::move(info));
}

}  // namespace

std::vector<MetricFamily> Render(const state::Snapshot& snapshot, const RenderOptions& options) {
  std::vector<MetricFamily> families;
  families.reserve(24);
  RenderJobFamilies(snapshot, families);
  RenderExporterFamilies(snapshot, options, families);
  if (options.per_job_metrics) RenderPerJobFamilies(snapshot, families);
  return families;
}

std::string RenderText(const state::Snapshot& snapshot, const RenderOptions& options) {
  std::ostringstream out;
  prometheus::TextSerializer().Serialize(out, Render(snapshot, options));
  return out.str();
}

Collector::Collector(SnapshotSource source, RenderOptions options)
    : source_(std::move(source)), options_(std::move(options)) {}

std::vector<MetricFamily> Collector::Collect() const { return Render(*source_(), options_); }

}  // namespace collect
