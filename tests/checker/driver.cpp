#include "checker/driver.h"

#include <signal.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <random>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "checker/exporter_process.h"
#include "checker/fake_api.h"
#include "checker/model.h"
#include "support/metrics.h"
#include "support/process.h"

namespace checker {
namespace {

using std::chrono::milliseconds;

constexpr const char* kToken = "checker-token-0123456789abcdef";
constexpr size_t kNoCap = 10000;
constexpr int kNeverClean = 1000;
constexpr const char* kReloadedLine = "msg=\"Reloaded the configuration\"";

// A broken promise of the contract, or a sequence that could not reach a quiet point.
struct Failure : std::runtime_error {
  using std::runtime_error::runtime_error;
};

double Now() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

double Millis(double seconds) { return std::round(seconds * 1000) / 1000; }

std::string Duration(double seconds) {
  if (seconds >= 86400 && std::fmod(seconds, 86400) == 0) {
    return std::to_string(static_cast<long>(seconds / 86400)) + "d";
  }
  if (seconds >= 3600 && std::fmod(seconds, 3600) == 0) {
    return std::to_string(static_cast<long>(seconds / 3600)) + "h";
  }
  if (seconds >= 60 && std::fmod(seconds, 60) == 0) {
    return std::to_string(static_cast<long>(seconds / 60)) + "m";
  }
  return std::to_string(static_cast<long>(seconds)) + "s";
}

const char* BadName(BadField field) {
  switch (field) {
    case BadField::kCredits:
      return "credits_used";
    case BadField::kCreatedAt:
      return "created_at";
    case BadField::kUpdatedAt:
      return "updated_at";
    case BadField::kNone:
      break;
  }
  return "none";
}

const char* ShapeName(BadShape shape) {
  switch (shape) {
    case BadShape::kNull:
      return "null";
    case BadShape::kMissing:
      return "missing";
    case BadShape::kMalformed:
      return "malformed";
  }
  return "?";
}

// The counting families, and the other persisted counters: none may ever go down.
bool Monotonic(const std::string& name) {
  for (const char* family :
       {"creatify_jobs_completed_total", "creatify_credits_used_total",
        "creatify_job_processing_seconds_count", "creatify_job_processing_seconds_sum",
        "creatify_job_processing_seconds_bucket", "creatify_exporter_jobs_dropped_total",
        "creatify_exporter_poll_duration_seconds_count", "creatify_exporter_api_requests_total",
        "creatify_exporter_webhook_requests_total", "creatify_breakdown_jobs_completed_total",
        "creatify_breakdown_credits_used_total"}) {
    if (name == family) return true;
  }
  return false;
}

// Sequences come in three profiles, so that the model stays exact: "churn" varies retention,
// forget_after, kinds, ids and the disk under a cap never reached; "cap" keeps a long retention
// and both kinds on, and lowers and raises max_tracked_jobs; "shards" runs two replicas
// (--total-shards=2, a state file each, no webhooks, no full disk) that restart one at a time,
// and holds each to the jobs it owns. The number of shards never changes within a sequence: a
// job finishing while it does may be counted by its old and its new owner (README, Sharding),
// which is left unchecked.
enum class Profile { kChurn, kCap, kShards };

const char* ProfileName(Profile profile) {
  switch (profile) {
    case Profile::kChurn:
      return "churn";
    case Profile::kCap:
      return "cap";
    case Profile::kShards:
      return "shards";
  }
  return "?";
}

// About one seed in six runs two shards; drawn apart from the sequence's own randomness, so that
// the other seeds replay as they did before shards were added (the salt keeps the seeds in
// regression_seeds.txt, found before, on their profiles).
bool ShardSeed(uint64_t seed) {
  std::mt19937_64 draw(seed ^ 0x5eed5a4fULL);
  return draw() % 6 == 0;
}

// One exporter process after another on one state file, with the model of what it knows.
struct Replica {
  int shard = 0;
  Model model;
  std::unique_ptr<ExporterProcess> exporter;
  // Terminal answers served to it before its current process started, per job.
  std::map<std::string, int> terminal_at_start;
  // The highest value every monotonic series showed.
  std::map<std::string, double> highest;
  int starts = 0;
  int scrapes = 0;
  // Every breakdown value /metrics showed with a name of its own (a name, once given, stays).
  Named named;

  std::string ApiId() const { return "checker-id-" + std::to_string(shard); }
  std::string Name(const std::string& base, const std::string& ext) const {
    return base + "-" + std::to_string(shard) + ext;
  }
};

class Sequence {
 public:
  Sequence(uint64_t seed, std::string binary)
      : seed_(seed), random_(seed), binary_(std::move(binary)) {
    profile_ = Chance(0.7) ? Profile::kChurn : Profile::kCap;
    if (ShardSeed(seed)) profile_ = Profile::kShards;
    const int replicas = profile_ == Profile::kShards ? 2 : 1;
    for (int i = 0; i < replicas; ++i) {
      replicas_.push_back(std::make_unique<Replica>());
      replicas_.back()->shard = i;
      replicas_.back()->model.shard = i;
      replicas_.back()->model.total_shards = replicas;
    }
  }

  SequenceResult Run() {
    SequenceResult result{.seed = seed_};
    try {
      Play();
    } catch (const std::exception& e) {
      result.ok = false;
      result.report = Report(e.what());
    }
    result.operations = static_cast<int>(ops_.size());
    for (auto& replica : replicas_) replica->exporter.reset();
    return result;
  }

 private:
  // ---- randomness
  bool Chance(double p) { return std::bernoulli_distribution(p)(random_); }
  int Uniform(int low, int high) { return std::uniform_int_distribution<int>(low, high)(random_); }
  template <typename T>
  const T& Pick(const std::vector<T>& from) {
    return from[static_cast<size_t>(Uniform(0, static_cast<int>(from.size()) - 1))];
  }

  void Op(const std::string& what) { ops_.push_back(what); }

  // ---- the replicas and their models
  bool Sharded() const { return replicas_.size() > 1; }
  // The first replica: its model holds every job (each model does) and the disk state.
  Replica& First() { return *replicas_[0]; }
  Model& Main() { return First().model; }
  Replica& OwnerOf(const std::string& id) {
    for (auto& replica : replicas_) {
      if (replica->model.Owns(id)) return *replica;
    }
    return First();
  }
  Facts& Memory(const std::string& id) { return OwnerOf(id).model.memory[id]; }
  const Facts* Durable(const std::string& id) {
    const Model& model = OwnerOf(id).model;
    auto it = model.durable.find(id);
    return it == model.durable.end() ? nullptr : &it->second;
  }
  void PutJob(const ApiJob& job) {
    for (auto& replica : replicas_) replica->model.Put(job);
  }
  void ReconfigureAll() {
    for (auto& replica : replicas_) replica->model.Reconfigure(config_);
  }
  // The replica a kill or a restart hits (a draw only when there are two).
  Replica& AnyReplica() {
    return Sharded() ? *replicas_[static_cast<size_t>(Uniform(0, 1))] : First();
  }

  // ---- the sequence
  void Play() {
    config_.terminal_retention = profile_ == Profile::kChurn && Chance(0.3) ? 1 : 900;
    // The breakdown's fields stay valid for every config of the profile: failed_reason is a field
    // of every kind, aspect_ratio one of ads_clone, which only "cap" never switches off. Two
    // names a field, of three or four values: "other" is reached.
    config_.breakdown_fields = {"failed_reason"};
    if (profile_ == Profile::kCap) config_.breakdown_fields = {"aspect_ratio", "failed_reason"};
    config_.breakdown_max_values = 2;
    WriteIdsFile();
    WriteConfig();
    Op(std::string("start (profile ") + ProfileName(profile_) + ")");
    for (auto& replica : replicas_) StartExporter(*replica);
    const double started = Now();
    for (auto& replica : replicas_) {
      replica->model.watching_since = started;
      replica->model.Start(config_);
    }
    Quiet();
    const int steps = Uniform(8, 14);
    for (int step = 0; step < steps; ++step) Step();
    if (Main().disk_full) {
      DiskEmpty();
      Quiet();
    }
    Op("final clean restart");
    for (auto& replica : replicas_) Restart(*replica, SIGTERM, config_);
    Quiet();
  }

  void Step() {
    struct Choice {
      double weight;
      bool (Sequence::*op)();
    };
    const bool churn = profile_ == Profile::kChurn;
    const bool webhooks = profile_ != Profile::kShards;
    const std::vector<Choice> choices = {
        {4, &Sequence::CreateJob},
        {4.5, &Sequence::AdvanceJob},
        {webhooks ? 1.5 : 0.0, &Sequence::Webhook},
        {1.2, &Sequence::IdsFileAdd},
        {profile_ == Profile::kCap ? 0.2 : 0.6, &Sequence::IdsFileRemove},
        {1.5, &Sequence::RestartOp},
        {1.2, &Sequence::ReloadOp},
        {churn ? 0.5 : 0.0, &Sequence::DiskOp},
    };
    double total = 0;
    for (const auto& choice : choices) total += choice.weight;
    for (int attempt = 0; attempt < 20; ++attempt) {
      double at = std::uniform_real_distribution<double>(0, total)(random_);
      size_t i = 0;
      while (i + 1 < choices.size() && at >= choices[i].weight) at -= choices[i++].weight;
      kill_safe_ = true;
      if (!(this->*choices[i].op)()) continue;
      if (kill_safe_ && Chance(0.25)) {
        // A kill (or a clean stop) at a random moment: what the exporter did of the change is
        // unknown, and the model must not care.
        const int delay = Uniform(0, 300);
        const bool hard = Chance(0.6);
        Replica& replica = AnyReplica();
        Op(std::string(hard ? "SIGKILL" : "SIGTERM") + " after " + std::to_string(delay) +
           " ms, restart" + (Sharded() ? " of shard " + std::to_string(replica.shard) : ""));
        std::this_thread::sleep_for(milliseconds(delay));
        Restart(replica, hard ? SIGKILL : SIGTERM, config_);
      }
      Quiet();
      return;
    }
  }

  // ---- operations; each returns false when it does not apply now
  std::string NewId(const std::string& kind) {
    char id[64];
    std::snprintf(id, sizeof id, "%s-%02d-%llx", kind == kAdsClone ? "ac" : "au", ++job_count_,
                  static_cast<unsigned long long>(seed_ % 0xffff));
    return id;
  }

  void Finish(ApiJob& job, bool seen_durably) {
    const double word = std::uniform_real_distribution<double>(0, 1)(random_);
    job.status = word < 0.6 ? "done" : word < 0.9 ? "failed" : "rejected";
    job.credits_used = job.status == "done"     ? Uniform(1, 80) / 2.0
                       : job.status == "failed" ? Uniform(0, 2)
                                                : 0;
    job.updated_at = Millis(job.created_at + (Chance(0.1) ? -7.5 : Uniform(500, 900000) / 1000.0));
    job.bad = BadField::kNone;
    job.bad_answers = 0;
    if (Chance(0.45)) {
      job.bad = static_cast<BadField>(Uniform(1, 3));
      job.shape = static_cast<BadShape>(Uniform(0, 2));
      job.bad_answers = Chance(0.25) ? kNeverClean : Uniform(1, kDeferredAnswers);
      // Never clean and no created_at ever read: whether it finished while watched is unknown.
      if (job.bad_answers == kNeverClean && job.bad == BadField::kCreatedAt && !seen_durably) {
        job.bad = BadField::kCredits;
      }
    }
  }

  std::string Describe(const ApiJob& job) {
    std::string out = job.kind + " " + job.id + " " + job.status;
    if (job.created_at < Main().watching_since) out += " (old)";
    if (IsTerminalWord(job.status)) {
      char values[128];
      std::snprintf(values, sizeof values, " credits=%g processing=%.3f", job.credits_used,
                    job.updated_at - job.created_at);
      out += values;
      if (job.bad != BadField::kNone) {
        out += std::string(" bad ") + BadName(job.bad) + " " + ShapeName(job.shape) + " x" +
               (job.bad_answers == kNeverClean ? std::string("always")
                                               : std::to_string(job.bad_answers));
      }
    }
    return out;
  }

  bool CreateJob() {
    if (Main().jobs.size() >= 14) return false;
    ApiJob job;
    job.kind = Chance(0.5) ? kAdsClone : kAurora;
    job.id = NewId(job.kind);
    const bool old = Chance(0.25);
    // Far from the boundaries: days before watching_since, or now (after the first start).
    job.created_at = Millis(old ? Main().watching_since - 3 * 86400 - Uniform(0, 3600) : Now());
    job.updated_at = job.created_at;
    job.status = Chance(0.5) ? "pending" : "running";
    if (Chance(0.35)) Finish(job, false);
    api_.Put(job);
    PutJob(job);
    std::string how = job.kind == kAurora ? "listed" : "unknown to the exporter";
    if (job.kind == kAdsClone) {
      const double way = std::uniform_real_distribution<double>(0, 1)(random_);
      if (way < 0.35) {
        how = "in the ids file";
        config_.file_ids.insert(job.id);
        WriteIdsFile();
        ReconfigureAll();
      } else if (way < 0.6) {
        how = "in the config ids, reloaded";
        config_.config_ids.insert(job.id);
        WriteConfig();
        Reload(false);
      } else if (way < 0.85 && !Sharded()) {
        how = "announced by webhook";
        Op("create " + Describe(job) + ", " + how);
        kill_safe_ = false;  // a webhook lost to a kill is not sent again
        PostWebhook(job.id);
        return true;
      }
    }
    Op("create " + Describe(job) + ", " + how);
    return true;
  }

  bool AdvanceJob() {
    std::vector<ApiJob> candidates;
    for (const auto& job : Main().jobs) {
      if (IsTerminalWord(job.status)) continue;
      if (job.created_at < Main().watching_since) {
        // An old job finishes only once its unfinished sighting was written and its kind is
        // on: else whether it finished while watched would depend on timing.
        const Facts* durable = Durable(job.id);
        if (durable == nullptr || !durable->seen_unfinished) continue;
        if (!config_.Enabled(job.kind)) continue;
      }
      candidates.push_back(job);
    }
    if (candidates.empty()) return false;
    ApiJob job = Pick(candidates);
    if (job.status == "pending" && Chance(0.3)) {
      job.status = "running";
    } else {
      const Facts* durable = Durable(job.id);
      Finish(job, durable != nullptr && durable->seen_unfinished);
    }
    api_.Put(job);
    PutJob(job);
    Op("advance " + Describe(job));
    return true;
  }

  bool Webhook() {
    if (Main().jobs.empty()) return false;
    std::vector<ApiJob> ads;
    for (const auto& job : Main().jobs) {
      if (job.kind == kAdsClone) ads.push_back(job);
    }
    const ApiJob job = !ads.empty() && Chance(0.8) ? Pick(ads) : Pick(Main().jobs);
    const int times = Chance(0.3) ? 2 : 1;
    kill_safe_ = false;
    Op("webhook for " + Describe(job) + (times > 1 ? " (twice)" : ""));
    for (int i = 0; i < times; ++i) PostWebhook(job.id);
    return true;
  }

  bool IdsFileAdd() {
    std::vector<std::string> candidates;
    for (const auto& job : Main().jobs) {
      if (job.kind == kAdsClone && !config_.Listed(job.id)) candidates.push_back(job.id);
    }
    if (candidates.empty()) return false;
    const std::string id = Pick(candidates);
    config_.file_ids.insert(id);
    WriteIdsFile();
    ReconfigureAll();
    Op("add " + id + " to the ids file");
    return true;
  }

  bool IdsFileRemove() {
    // Only ids whose terminal answer was taken and written: an unfinished job removed while the
    // exporter runs stops being polled, and one removed while it is down does not.
    std::vector<std::string> candidates;
    for (const auto& id : config_.file_ids) {
      const Facts* durable = Durable(id);
      if (durable != nullptr && durable->taken && Memory(id).taken &&
          !config_.config_ids.contains(id)) {
        candidates.push_back(id);
      }
    }
    if (candidates.empty()) return false;
    const std::string id = Pick(candidates);
    config_.file_ids.erase(id);
    WriteIdsFile();
    ReconfigureAll();
    Op("remove " + id + " from the ids file");
    return true;
  }

  // A config change for a restart or a reload (`restart`: the cap may be lowered below what is
  // tracked, which a start puts aside).
  ModelConfig ChangedConfig(bool restart, std::string* what) {
    ModelConfig next = config_;
    if (profile_ != Profile::kCap) {
      if (Chance(0.4)) {
        const bool ads = Chance(0.5);
        bool& flag = ads ? next.ads_clone_enabled : next.aurora_enabled;
        // Whether a start keeps the jobs of a kind that is off is not part of the contract:
        // switch ads_clone off only when no unfinished job is known by a webhook alone.
        bool webhook_only = false;
        for (const auto& job : Main().jobs) {
          const Facts& f = Memory(job.id);
          webhook_only = webhook_only ||
                         (job.kind == kAdsClone && f.tracked && !f.taken && !next.Listed(job.id));
        }
        if (!(flag && ads && webhook_only)) flag = !flag;
        if (!next.ads_clone_enabled && !next.aurora_enabled) flag = true;
        if (!flag) kind_switched_off_ = true;
      }
      if (Chance(0.3)) next.terminal_retention = next.terminal_retention == 900 ? 1 : 900;
      if (Chance(0.3)) next.forget_after = next.forget_after == 3600 ? 7 * 86400 : 3600;
      if (Chance(0.2) && !next.config_ids.empty()) {
        // Takes a finished id out of the config.
        for (const auto& id : next.config_ids) {
          const Facts* durable = Durable(id);
          if (durable != nullptr && durable->taken && Memory(id).taken &&
              !next.file_ids.contains(id)) {
            next.config_ids.erase(id);
            break;
          }
        }
      }
    } else if (Chance(0.7)) {
      if (next.max_tracked_jobs != kNoCap && Chance(0.5)) {
        next.max_tracked_jobs = kNoCap;
      } else {
        size_t tracked = 0;
        bool all_taken = true;
        for (const auto& [id, facts] : Main().durable) {
          if (!facts.tracked) continue;
          ++tracked;
          all_taken = all_taken && facts.taken;
        }
        for (const auto& [id, facts] : Main().memory) all_taken = all_taken && !facts.announced;
        const size_t low = static_cast<size_t>(Uniform(1, 4));
        // Below what is tracked only at a start with every tracked job finished, so that what
        // is put aside is known to be counted already.
        if (low >= tracked || (restart && all_taken)) next.max_tracked_jobs = low;
      }
    }
    auto ids = [](const std::set<std::string>& set) {
      std::string out;
      for (const auto& id : set) out += (out.empty() ? "" : ",") + id;
      return "[" + out + "]";
    };
    char text[256];
    std::snprintf(text, sizeof text,
                  "ads_clone %s, aurora %s, retention %s, forget_after %s, "
                  "max_tracked_jobs %zu, config ids %s",
                  next.ads_clone_enabled ? "on" : "off", next.aurora_enabled ? "on" : "off",
                  Duration(next.terminal_retention).c_str(), Duration(next.forget_after).c_str(),
                  next.max_tracked_jobs, ids(next.config_ids).c_str());
    *what = text;
    return next;
  }

  bool RestartOp() {
    const int signal = Chance(0.5) ? SIGKILL : SIGTERM;
    if (Sharded()) {
      // One replica at a time, on the configuration both run (a change goes through a reload).
      Replica& replica = AnyReplica();
      Op(std::string(signal == SIGKILL ? "SIGKILL" : "SIGTERM") + ", restart of shard " +
         std::to_string(replica.shard));
      Restart(replica, signal, config_);
      return true;
    }
    std::string what;
    const ModelConfig next = ChangedConfig(true, &what);
    Op(std::string(signal == SIGKILL ? "SIGKILL" : "SIGTERM") + ", restart with " + what);
    Restart(First(), signal, next);
    return true;
  }

  bool ReloadOp() {
    std::string what;
    const ModelConfig next = ChangedConfig(false, &what);
    const bool hup = Chance(0.3);
    Op(std::string(hup ? "SIGHUP" : "POST /-/reload") + " with " + what);
    config_ = next;
    WriteConfig();
    Reload(hup);
    // A cap lowered by a reload must not meet a start before a quiet point.
    if (profile_ == Profile::kCap) kill_safe_ = false;
    return true;
  }

  bool DiskOp() {
    if (!Main().disk_full) {
      if (!First().exporter->LimitFileSize(0)) throw Failure("prlimit --fsize=0 failed");
      Main().SetDiskFull(true);
      Op("state disk full (RLIMIT_FSIZE 0)");
    } else {
      DiskEmpty();
    }
    return true;
  }

  void DiskEmpty() {
    if (!First().exporter->LimitFileSize(std::nullopt))
      throw Failure("prlimit --fsize=unlimited failed");
    Main().SetDiskFull(false);
    Op("state disk empty again");
  }

  // ---- the exporter
  std::string ConfigPath(const Replica& replica) {
    return dir_.File(replica.Name("exporter", ".yaml"));
  }
  std::string LogPath(const Replica& replica) {
    return dir_.File(replica.Name("exporter", ".log"));
  }

  // The same configuration for every replica, each with its own state file.
  void WriteConfig() {
    for (const auto& replica : replicas_) {
      std::ostringstream out;
      const auto timeout = testsupport::Scaled(milliseconds(2000));
      out << "api:\n  base_url: http://127.0.0.1:" << api_.port()
          << "\n  timeout: " << timeout.count() << "ms\n  max_concurrency: 4\n"
          << "poll_interval: 100ms\ndiscovery_interval: 100ms\n"
          << "terminal_retention: " << Duration(config_.terminal_retention) << "\n"
          << "max_tracked_jobs: " << config_.max_tracked_jobs << "\n"
          << "state:\n  path: \"" << dir_.File(replica->Name("state", ".db")) << "\"\n"
          << "  forget_after: " << Duration(config_.forget_after) << "\n";
      // A sharded webhook needs the peers' addresses, which are chosen at run time.
      if (!Sharded()) out << "webhook:\n  token: \"" << kToken << "\"\n";
      out << "ads_clone:\n  enabled: " << (config_.ads_clone_enabled ? "true" : "false")
          << "\n  ids: [";
      bool first = true;
      for (const auto& id : config_.config_ids) {
        out << (first ? "" : ", ") << "\"" << id << "\"";
        first = false;
      }
      out << "]\n  ids_file: \"" << dir_.File("ads_clone.ids") << "\"\n"
          << "custom_template_jobs:\n  enabled: false\n"
          << "aurora:\n  enabled: " << (config_.aurora_enabled ? "true" : "false") << "\n"
          << "breakdown:\n  max_values: " << config_.breakdown_max_values << "\n  fields: [";
      for (size_t i = 0; i < config_.breakdown_fields.size(); ++i) {
        out << (i == 0 ? "" : ", ") << config_.breakdown_fields[i];
      }
      out << "]\n";
      const std::string path = ConfigPath(*replica);
      testsupport::WriteFile(path + ".tmp", out.str());
      std::filesystem::rename(path + ".tmp", path);
    }
  }

  void WriteIdsFile() {
    std::string text = "# checker\n";
    for (const auto& id : config_.file_ids) text += id + "\n";
    testsupport::WriteFile(dir_.File("ads_clone.ids.tmp"), text);
    std::filesystem::rename(dir_.File("ads_clone.ids.tmp"), dir_.File("ads_clone.ids"));
  }

  void StartExporter(Replica& replica) {
    {
      std::ofstream log(LogPath(replica), std::ios::app);
      log << "===== checker: start " << ++replica.starts << " =====\n";
    }
    std::vector<std::string> flags;
    if (Sharded()) {
      flags = {"--total-shards=" + std::to_string(replicas_.size()),
               "--shard=" + std::to_string(replica.shard)};
    }
    replica.exporter = std::make_unique<ExporterProcess>(binary_, ConfigPath(replica),
                                                         LogPath(replica), replica.ApiId(), flags);
    replica.terminal_at_start.clear();
    for (const auto& job : Main().jobs) {
      replica.terminal_at_start[job.id] = api_.TerminalServes(job.id, replica.ApiId());
    }
  }

  void Restart(Replica& replica, int signal, const ModelConfig& next) {
    const int status = replica.exporter->Stop(signal, testsupport::Scaled(milliseconds(10000)));
    // A clean stop exits 0; with a full disk its last write fails, and how it exits then is
    // not part of the counting contract (dying of SIGXFSZ is caught by the wait below).
    if (signal == SIGTERM && status != 0 && (!replica.model.disk_full || status == 128 + SIGXFSZ)) {
      throw Failure("SIGTERM: the exporter exited with status " + std::to_string(status));
    }
    if (signal == SIGKILL) {
      replica.model.Kill();
    } else {
      replica.model.Terminate();
    }
    config_ = next;
    WriteConfig();
    StartExporter(replica);
    replica.model.Start(config_);
  }

  // Every replica re-reads the configuration.
  void Reload(bool hup) {
    for (auto& replica : replicas_) {
      if (hup) {
        // Waits for the log line, not for a metric: /metrics may be held during a write outage.
        const auto reloads = [&] {
          const std::string log = FileTail(LogPath(*replica), 1 << 24);
          size_t count = 0;
          for (size_t at = log.find(kReloadedLine); at != std::string::npos;
               at = log.find(kReloadedLine, at + 1)) {
            ++count;
          }
          return count;
        };
        const size_t before = reloads();
        replica->exporter->Signal(SIGHUP);
        const bool done =
            testsupport::WaitFor([&] { return reloads() > before; }, milliseconds(10000));
        if (!done) throw Failure("SIGHUP: no \"" + std::string(kReloadedLine) + "\" in the log");
      } else {
        auto result = testsupport::HttpPost(replica->exporter->port(), "/-/reload");
        if (result.status != 200) {
          throw Failure("POST /-/reload answered " + std::to_string(result.status) + ": " +
                        result.body);
        }
      }
    }
    ReconfigureAll();
  }

  void PostWebhook(const std::string& id) {
    const ApiJob* job = Main().Find(id);
    Replica& replica = OwnerOf(id);
    auto result =
        testsupport::HttpPost(replica.exporter->port(), "/webhook/" + job->kind + "/" + kToken,
                              "{\"id\": \"" + id + "\", \"status\": \"done\"}", "application/json");
    const int expected = config_.Enabled(job->kind) ? 202 : 404;
    if (result.status != expected) {
      throw Failure("webhook for " + id + " answered " + std::to_string(result.status) +
                    ", expected " + std::to_string(expected));
    }
    replica.model.Webhook(id);
  }

  void CheckAlive(Replica& replica) {
    if (auto status = replica.exporter->Exited()) {
      throw Failure("the exporter" +
                    (Sharded() ? " of shard " + std::to_string(replica.shard) : std::string()) +
                    " exited on its own with status " + std::to_string(*status) +
                    (*status == 128 + SIGXFSZ ? " (SIGXFSZ: killed by the file-size limit)" : ""));
    }
  }

  // One /metrics; every scrape is checked for counters going down.
  testsupport::Exposition Scrape(Replica& replica) {
    auto result = testsupport::HttpGet(replica.exporter->port(), "/metrics");
    if (result.status != 200) {
      CheckAlive(replica);
      throw Failure("GET /metrics answered " + std::to_string(result.status));
    }
    auto exposition = testsupport::ParseExposition(result.body);
    ++replica.scrapes;
    for (const auto& sample : exposition.samples) {
      if (!Monotonic(sample.name)) continue;
      const std::string key = SeriesKey(sample.name, sample.labels);
      auto [it, inserted] = replica.highest.try_emplace(key, sample.value);
      if (!inserted && sample.value < it->second - 1e-9) {
        throw Failure("counter went down" +
                      (Sharded() ? " on shard " + std::to_string(replica.shard) : std::string()) +
                      ": " + key + " from " + std::to_string(it->second) + " to " +
                      std::to_string(sample.value) + " (scrape " + std::to_string(replica.scrapes) +
                      ")");
      }
      if (!inserted) it->second = std::max(it->second, sample.value);
    }
    return exposition;
  }

  double PollCount(Replica& replica) {
    return Scrape(replica).Value("creatify_exporter_poll_duration_seconds_count").value_or(0);
  }

  // Waits until every replica read every job in its current state and published it, then
  // compares /metrics with the model.
  void Quiet() {
    for (auto& replica : replicas_) Settle(*replica);
    const double now = Now();
    for (auto& replica : replicas_) {
      replica->model.Observe(now);
      Compare(*replica, Scrape(*replica));
    }
  }

  void Settle(Replica& replica) {
    const auto timeout = milliseconds(20000);
    const auto pending = replica.model.PendingTerminal();
    // A job whose answers are put off is asked for again until taken; an exporter that took it
    // early (a defect the comparison then shows) stops asking: 3 cycles without an answer.
    std::map<std::string, std::pair<int, int>> last;  // id -> (answers, cycle of the last)
    const bool answered = testsupport::WaitFor(
        [&] {
          const int cycle = api_.Cycles();
          bool all = true;
          for (const auto& p : pending) {
            const int served = api_.TerminalServes(p.id, replica.ApiId());
            if (served >= p.total && served - replica.terminal_at_start[p.id] >= p.since_start) {
              continue;
            }
            auto [it, inserted] = last.try_emplace(p.id, served, cycle);
            if (!inserted && it->second.first != served) it->second = {served, cycle};
            if (cycle - it->second.second < 3) all = false;
          }
          return all || replica.exporter->Exited().has_value();
        },
        timeout);
    if (!answered) {
      CheckAlive(replica);
      throw Failure("not quiet: the exporter did not ask for the jobs whose answers are put off");
    }
    const int cycles = api_.Cycles();
    if (replica.model.disk_full) {
      // Nothing is published while writes fail: wait for cycles of the API instead.
      const bool polled = testsupport::WaitFor(
          [&] { return api_.Cycles() >= cycles + 4 || replica.exporter->Exited().has_value(); },
          timeout);
      CheckAlive(replica);
      if (!polled) throw Failure("not quiet: the exporter stopped polling");
    } else {
      const double polls = PollCount(replica);
      if (!testsupport::WaitFor([&] { return PollCount(replica) >= polls + 2; }, timeout)) {
        throw Failure("not quiet: creatify_exporter_poll_duration_seconds_count did not advance");
      }
    }
  }

  void Compare(Replica& replica, const testsupport::Exposition& metrics) {
    std::map<std::string, double> seen;
    for (const auto& sample : metrics.samples) {
      seen[SeriesKey(sample.name, sample.labels)] = sample.value;
    }
    const Model& model = replica.model;
    std::string diff;
    for (const auto& [key, expected] : model.Expected()) {
      auto it = seen.find(key);
      if (it == seen.end()) {
        // While writes fail, what a reload changed may not be shown yet: only values are held
        // to the contract then.
        if (model.disk_full) continue;
        diff += "  " + key + ": model " + std::to_string(expected) + ", exporter (absent)\n";
      } else if (std::fabs(it->second - expected) > 1e-6 * std::max(1.0, std::fabs(expected))) {
        char line[512];
        std::snprintf(line, sizeof line, "  %s: model %.6g, exporter %.6g\n", key.c_str(), expected,
                      it->second);
        diff += line;
      }
    }
    diff += CompareBreakdown(replica, metrics, seen);
    for (const char* kind : {kAdsClone, kAurora}) {
      if (!config_.Enabled(kind) && !model.disk_full &&
          metrics.Count("creatify_jobs_completed_total", {{"kind", kind}}) > 0) {
        diff += std::string("  creatify_jobs_completed_total{kind=\"") + kind +
                "\"}: switched off, still on /metrics\n";
      }
    }
    ++quiet_points_;
    if (!diff.empty()) {
      throw Failure("model and exporter" +
                    (Sharded() ? " of shard " + std::to_string(replica.shard) : std::string()) +
                    " disagree at quiet point " + std::to_string(quiet_points_) +
                    " (after operation " + std::to_string(ops_.size()) + "):\n" + diff);
    }
  }

  // The breakdown families: the names they give, then every series, none missing and none more.
  std::string CompareBreakdown(Replica& replica, const testsupport::Exposition& metrics,
                               const std::map<std::string, double>& seen) {
    const Model& model = replica.model;
    std::map<std::string, double> shown;
    for (const auto& sample : metrics.samples) {
      if (!sample.name.starts_with("creatify_breakdown_")) continue;
      shown[SeriesKey(sample.name, sample.labels)] = sample.value;
      for (const auto& field : config_.breakdown_fields) {
        auto it = sample.labels.find(field);
        if (it == sample.labels.end()) continue;
        if (!it->second.empty() && it->second != "other") replica.named[field].insert(it->second);
      }
    }
    std::string diff;
    const std::string wrong = model.BreakdownNamesWrong(replica.named, !kind_switched_off_);
    if (!wrong.empty()) diff += "  breakdown names: " + wrong + "\n";
    const Series expected = model.ExpectedBreakdown(replica.named);
    for (const auto& [key, value] : expected) {
      auto it = seen.find(key);
      if (it == seen.end()) {
        if (!model.disk_full)
          diff += "  " + key + ": model " + std::to_string(value) + ", exporter (absent)\n";
      } else if (std::fabs(it->second - value) > 1e-6 * std::max(1.0, std::fabs(value))) {
        diff += "  " + key + ": model " + std::to_string(value) + ", exporter " +
                std::to_string(it->second) + "\n";
      }
    }
    for (const auto& [key, value] : shown) {
      if (!expected.contains(key) && !model.disk_full) {
        diff += "  " + key + ": model (absent), exporter " + std::to_string(value) + "\n";
      }
    }
    return diff;
  }

  std::string Report(const std::string& what) {
    std::ostringstream out;
    out << "checker: sequence FAILED, seed " << seed_ << " (replay: CREATIFY_CHECKER_SEED=" << seed_
        << " ctest -R checker --output-on-failure)\n";
    out << what << "\noperations:\n";
    for (size_t i = 0; i < ops_.size(); ++i) out << "  " << i + 1 << ". " << ops_[i] << "\n";
    out << "model facts (memory):\n";
    for (const auto& job : Main().jobs) {
      const Facts& f = Memory(job.id);
      Replica& owner = OwnerOf(job.id);
      out << "  " << Describe(job) << ": "
          << (Sharded() ? "shard " + std::to_string(owner.shard) + " " : std::string())
          << (f.tracked ? "tracked " : "") << (f.seen_unfinished ? "seen-unfinished " : "")
          << (f.taken ? "taken " : "") << (f.counted ? "counted " : "")
          << (f.remembered ? "remembered " : "") << (f.refused ? "refused " : "")
          << (f.announced ? "announced " : "") << "(served " << api_.Serves(job.id)
          << ", terminal to its owner " << api_.TerminalServes(job.id, owner.ApiId()) << ")\n";
    }
    out << "the fake API's last requests:\n" << api_.Recent();
    for (const auto& replica : replicas_) {
      const std::string log = LogPath(*replica);
      const std::string kept = "/tmp/creatify-checker-" + std::to_string(seed_) +
                               (Sharded() ? "-" + std::to_string(replica->shard) : "") + ".log";
      std::error_code ec;
      std::filesystem::copy_file(log, kept, std::filesystem::copy_options::overwrite_existing, ec);
      out << "exporter log: " << (ec ? log + " (deleted with the sequence)" : kept)
          << "; its tail:\n"
          << FileTail(log, 2500) << "\n";
    }
    return out.str();
  }

  uint64_t seed_;
  std::mt19937_64 random_;
  std::string binary_;
  Profile profile_ = Profile::kChurn;
  // A kind was switched off at some point of the sequence.
  bool kind_switched_off_ = false;
  testsupport::TempDir dir_;
  FakeApi api_;
  ModelConfig config_;
  // After the API and the directory: the exporters stop first.
  std::vector<std::unique_ptr<Replica>> replicas_;
  std::vector<std::string> ops_;
  int quiet_points_ = 0;
  int job_count_ = 0;
  bool kill_safe_ = true;
};

}  // namespace

SequenceResult RunSequence(uint64_t seed, const std::string& binary) {
  Sequence sequence(seed, binary);
  return sequence.Run();
}

}  // namespace checker
