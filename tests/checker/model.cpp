#include "checker/model.h"

#include <algorithm>
#include <cstdint>

namespace checker {

namespace {

constexpr const char* kTerminalStatuses[] = {"done", "failed", "rejected"};

// The values the exporter counts for a terminal job: the clean answer's when one comes within
// the deferrals, else what the 4th bad answer and the earlier ones tell.
struct Counted {
  double credits = 0;
  std::optional<double> created_at;
  std::optional<double> updated_at;
};

Counted Resolve(const ApiJob& job, bool seen_unfinished) {
  Counted out{job.credits_used, job.created_at, job.updated_at};
  if (job.bad == BadField::kNone || job.bad_answers <= kDeferredAnswers) return out;
  switch (job.bad) {
    case BadField::kCredits:
      out.credits = 0;
      break;
    case BadField::kCreatedAt:
      // As last known from an earlier (unfinished) answer.
      if (!seen_unfinished) out.created_at.reset();
      break;
    case BadField::kUpdatedAt:
      out.updated_at.reset();
      break;
    case BadField::kNone:
      break;
  }
  return out;
}

// The labels of a kind's series: `workspace` first with workspaces (SeriesKey sorts them anyway).
std::map<std::string, std::string> KindLabels(const std::string& workspace,
                                              const std::string& kind) {
  if (workspace.empty()) return {{"kind", kind}};
  return {{"workspace", workspace}, {"kind", kind}};
}

std::map<std::string, std::string> With(std::map<std::string, std::string> labels,
                                        const std::string& name, const std::string& value) {
  labels[name] = value;
  return labels;
}

}  // namespace

std::string SeriesKey(const std::string& name, const std::map<std::string, std::string>& labels) {
  std::string key = name + "{";
  bool first = true;
  for (const auto& [label, value] : labels) {
    if (!first) key += ",";
    first = false;
    key += label + "=\"" + value + "\"";
  }
  return key + "}";
}

std::string JobKey(const ApiJob& job) {
  return job.workspace.empty() ? job.id : job.workspace + "/" + job.kind + "/" + job.id;
}

bool Model::Owns(const ApiJob& job) const {
  const std::string hashed = job.workspace.empty() ? job.id : job.workspace + "/" + job.id;
  uint64_t hash = 14695981039346656037ULL;
  for (unsigned char byte : hashed) {
    hash ^= byte;
    hash *= 1099511628211ULL;
  }
  return static_cast<int>(hash % static_cast<uint64_t>(total_shards)) == shard;
}

const ApiJob* Model::Find(const std::string& key) const {
  for (const auto& job : jobs) {
    if (JobKey(job) == key) return &job;
  }
  return nullptr;
}

void Model::Put(const ApiJob& job) {
  for (auto& existing : jobs) {
    if (JobKey(existing) == JobKey(job)) {
      existing = job;
      return;
    }
  }
  jobs.push_back(job);
}

size_t Model::Tracked() const {
  size_t tracked = 0;
  for (const auto& [id, facts] : memory) tracked += facts.tracked ? 1 : 0;
  return tracked;
}

std::set<std::string> Model::ListedIds(const ModelConfig& config) {
  std::set<std::string> ids = config.config_ids;
  ids.insert(config.file_ids.begin(), config.file_ids.end());
  return ids;
}

void Model::Start(const ModelConfig& next) {
  memory = durable;
  config = next;
  running = true;
  disk_full = false;
  // Restored finished jobs over the cap are put aside as remembered ids: the README keeps the
  // most recently created (then the smallest id), so the oldest go first. Which ones stay decides
  // which later job finds the cap reached.
  std::vector<const ApiJob*> by_age;
  for (const auto& job : jobs) by_age.push_back(&job);
  std::sort(by_age.begin(), by_age.end(), [](const ApiJob* a, const ApiJob* b) {
    if (a->created_at != b->created_at) return a->created_at < b->created_at;
    return a->id > b->id;
  });
  for (auto it = by_age.begin(); it != by_age.end() && Tracked() > config.max_tracked_jobs; ++it) {
    Facts& facts = memory[JobKey(**it)];
    if (facts.tracked && facts.taken) {
      facts.tracked = false;
      facts.remembered = true;
    }
  }
}

void Model::Kill() {
  memory = durable;
  running = false;
  disk_full = false;
}

void Model::Terminate() {
  if (disk_full) {
    Kill();
    return;
  }
  durable = memory;
  running = false;
}

void Model::Reconfigure(const ModelConfig& next) {
  const auto before = ListedIds(config);
  const auto after = ListedIds(next);
  for (const auto& id : before) {
    if (after.contains(id)) continue;
    Facts& facts = memory[id];
    if (!facts.tracked) continue;
    facts.tracked = false;
    facts.announced = false;
    if (facts.taken) facts.remembered = true;
  }
  config = next;
}

void Model::Webhook(const std::string& key) {
  const ApiJob* job = Find(key);
  if (!running || job == nullptr || !config.Enabled(*job) || !Owns(*job)) return;
  Facts& facts = memory[key];
  if (facts.tracked || facts.remembered) return;
  if (Tracked() >= config.max_tracked_jobs) {
    facts.refused = true;
    return;
  }
  facts.tracked = true;
  facts.announced = true;
}

void Model::SetDiskFull(bool full) { disk_full = full; }

void Model::Observe(double now) {
  for (const auto& job : jobs) {
    if (!config.Enabled(job) || !Owns(job)) continue;
    Facts& facts = memory[JobKey(job)];
    if (facts.taken || facts.remembered) continue;
    const bool asked = job.kind == kAurora || config.Listed(JobKey(job)) || facts.tracked;
    if (!asked) continue;
    if (!IsTerminalWord(job.status)) {
      if (!facts.tracked) {
        if (Tracked() >= config.max_tracked_jobs) {
          facts.refused = true;
          continue;
        }
        facts.tracked = true;
      }
      facts.seen_unfinished = true;
      facts.announced = false;
      continue;
    }
    const Counted values = Resolve(job, facts.seen_unfinished);
    const bool finished_while_watched =
        facts.seen_unfinished || (values.created_at && *values.created_at >= watching_since &&
                                  *values.created_at >= now - config.forget_after);
    facts.taken = true;
    facts.announced = false;
    if (finished_while_watched) {
      facts.counted = true;
      facts.status = job.status;
      facts.credits = values.credits;
      if (values.created_at && values.updated_at && *values.updated_at >= *values.created_at) {
        facts.processing = *values.updated_at - *values.created_at;
      }
      facts.breakdown.clear();
      for (const auto& field : config.breakdown_fields) {
        std::string value;
        if (field == "aspect_ratio" && job.kind == kAdsClone) value = AspectRatioOf(job.id);
        if (field == "failed_reason" && job.status == "failed") value = FailedReasonOf(job.id);
        facts.breakdown.emplace_back(field, value);
      }
    }
    if (!facts.tracked) {
      if (Tracked() < config.max_tracked_jobs) {
        facts.tracked = true;
      } else {
        facts.remembered = true;
      }
    }
  }
  if (!disk_full) durable = memory;
}

Series Model::Expected() const {
  const auto& facts = disk_full ? durable : memory;
  Series out;
  std::vector<std::string> workspaces = config.all_workspaces;
  if (workspaces.empty()) workspaces.push_back("");
  for (const auto& workspace : workspaces) {
    for (const char* kind : {kAdsClone, kAurora}) {
      if (!config.Enabled(workspace, kind)) continue;
      const auto labels = KindLabels(workspace, kind);
      for (const char* status : kTerminalStatuses) {
        out[SeriesKey("creatify_jobs_completed_total", With(labels, "status", status))] = 0;
        out[SeriesKey("creatify_job_processing_seconds_count", With(labels, "status", status))] = 0;
        out[SeriesKey("creatify_job_processing_seconds_sum", With(labels, "status", status))] = 0;
      }
      out[SeriesKey("creatify_credits_used_total", labels)] = 0;
      out[SeriesKey("creatify_exporter_jobs_dropped_total", With(labels, "reason", "limit"))] = 0;
    }
  }
  for (const auto& job : jobs) {
    if (!config.Enabled(job) || !Owns(job)) continue;
    auto it = facts.find(JobKey(job));
    if (it == facts.end()) continue;
    const Facts& f = it->second;
    const auto labels = KindLabels(job.workspace, job.kind);
    if (f.refused) {
      out[SeriesKey("creatify_exporter_jobs_dropped_total", With(labels, "reason", "limit"))] += 1;
    }
    if (!f.counted) continue;
    out[SeriesKey("creatify_jobs_completed_total", With(labels, "status", f.status))] += 1;
    out[SeriesKey("creatify_credits_used_total", labels)] += f.credits;
    if (f.processing) {
      out[SeriesKey("creatify_job_processing_seconds_count", With(labels, "status", f.status))] +=
          1;
      out[SeriesKey("creatify_job_processing_seconds_sum", With(labels, "status", f.status))] +=
          *f.processing;
    }
  }
  return out;
}

Series Model::ExpectedBreakdown(const Named& named) const {
  const auto& facts = disk_full ? durable : memory;
  Series out;
  if (config.breakdown_fields.empty()) return out;
  for (const auto& job : jobs) {
    if (!config.Enabled(job) || !Owns(job)) continue;
    auto it = facts.find(JobKey(job));
    if (it == facts.end() || !it->second.counted) continue;
    const Facts& f = it->second;
    std::map<std::string, std::string> labels = KindLabels(job.workspace, job.kind);
    for (const auto& [field, value] : f.breakdown) {
      auto names = named.find(field);
      const bool has_name =
          value.empty() || (names != named.end() && names->second.contains(value));
      labels[field] = has_name ? value : "other";
    }
    out[SeriesKey("creatify_breakdown_credits_used_total", labels)] += f.credits;
    labels["status"] = f.status;
    out[SeriesKey("creatify_breakdown_jobs_completed_total", labels)] += 1;
  }
  return out;
}

std::string Model::BreakdownNamesWrong(const Named& named, bool every_kind_on) const {
  const auto& facts = disk_full ? durable : memory;
  for (const auto& field : config.breakdown_fields) {
    std::set<std::string> counted;  // by any kind
    std::set<std::string> shown;    // by the kinds on now
    for (const auto& job : jobs) {
      if (!Owns(job)) continue;
      auto it = facts.find(JobKey(job));
      if (it == facts.end() || !it->second.counted) continue;
      for (const auto& [name, value] : it->second.breakdown) {
        if (name != field || value.empty()) continue;
        counted.insert(value);
        if (config.Enabled(job)) shown.insert(value);
      }
    }
    auto it = named.find(field);
    const std::set<std::string> none;
    const std::set<std::string>& names = it == named.end() ? none : it->second;
    if (names.size() > config.breakdown_max_values) {
      return field + " has " + std::to_string(names.size()) + " named values, more than " +
             std::to_string(config.breakdown_max_values);
    }
    for (const auto& name : names) {
      if (!counted.contains(name)) return field + "=\"" + name + "\" is no counted job's value";
    }
    // A value named by a job of a kind switched off before a scrape showed it is a name the
    // driver never saw: the check holds only when every kind stayed on.
    for (const auto& value : shown) {
      if (!every_kind_on) continue;
      if (!names.contains(value) && names.size() < config.breakdown_max_values) {
        return field + "=\"" + value + "\" is counted as other with room for a name";
      }
    }
  }
  return "";
}

std::vector<Model::Pending> Model::PendingTerminal() const {
  std::vector<Pending> out;
  if (!running) return out;
  for (const auto& job : jobs) {
    if (!config.Enabled(job) || !IsTerminalWord(job.status) || !Owns(job)) continue;
    if (job.bad == BadField::kNone || job.bad_answers == 0) continue;
    const std::string key = JobKey(job);
    auto it = memory.find(key);
    const Facts facts = it == memory.end() ? Facts{} : it->second;
    if (facts.taken || facts.remembered) continue;
    if (job.kind != kAurora && !config.Listed(key) && !facts.tracked) continue;
    if (job.bad_answers <= kDeferredAnswers) {
      out.push_back({key, job.bad_answers + 1, 0});
    } else {
      out.push_back({key, 0, kDeferredAnswers + 1});
    }
  }
  return out;
}

}  // namespace checker
