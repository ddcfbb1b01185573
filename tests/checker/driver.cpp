#include "checker/driver.h"

#include <signal.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
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

// Sequences come in four profiles, so that the model stays exact: "churn" varies retention,
// forget_after, kinds, ids and the disk under a cap never reached; "cap" keeps a long retention
// and both kinds on, and lowers and raises max_tracked_jobs; "shards" runs two replicas
// (--total-shards=2, a state file each, no webhooks, no full disk) that restart one at a time,
// and holds each to the jobs it owns. The number of shards never changes within a sequence: a
// job finishing while it does may be counted by its old and its new owner (README, Sharding),
// which is left unchecked. "workspaces" runs two workspaces (`workspaces:`), each against a fake
// API of its own that answers only its own credentials, with ids that exist in both (two jobs);
// reloads and restarts take a workspace, or a kind section of one, away and bring it back, under
// a cap never reached, or else a cap over both workspaces that stays as it was (no full disk).
enum class Profile { kChurn, kCap, kShards, kWorkspaces };

const char* ProfileName(Profile profile) {
  switch (profile) {
    case Profile::kChurn:
      return "churn";
    case Profile::kCap:
      return "cap";
    case Profile::kShards:
      return "shards";
    case Profile::kWorkspaces:
      return "workspaces";
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

// About one seed in five of the others runs two workspaces; drawn apart in the same way, with a
// salt that leaves every seed of regression_seeds.txt on its profile.
bool WorkspacesSeed(uint64_t seed) {
  std::mt19937_64 draw(seed ^ 0x3a75ba5fULL);
  return draw() % 5 == 0;
}

constexpr const char* kWorkspaceNames[] = {"ws-a", "ws-b"};

// A workspace's credentials, which its fake API alone accepts.
std::string WorkspaceApiId(const std::string& workspace) { return "checker-id-" + workspace; }
std::string WorkspaceApiKey(const std::string& workspace) { return "checker-key-" + workspace; }

// One exporter process after another on one state file, with the model of what it knows.
struct Replica {
  int shard = 0;
  Model model;
  std::unique_ptr<ExporterProcess> exporter;
  // Terminal answers served to it before its current process started, per job (JobKey).
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
    if (ShardSeed(seed)) {
      profile_ = Profile::kShards;
    } else if (WorkspacesSeed(seed)) {
      profile_ = Profile::kWorkspaces;
    }
    if (profile_ == Profile::kWorkspaces) {
      for (const char* workspace : kWorkspaceNames) {
        apis_[workspace] =
            std::make_unique<FakeApi>(WorkspaceApiId(workspace), WorkspaceApiKey(workspace));
      }
    } else {
      apis_[""] = std::make_unique<FakeApi>();
    }
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
  Replica& OwnerOf(const ApiJob& job) {
    for (auto& replica : replicas_) {
      if (replica->model.Owns(job)) return *replica;
    }
    return First();
  }
  Facts& Memory(const ApiJob& job) { return OwnerOf(job).model.memory[JobKey(job)]; }
  const Facts* Durable(const ApiJob& job) {
    const Model& model = OwnerOf(job).model;
    auto it = model.durable.find(JobKey(job));
    return it == model.durable.end() ? nullptr : &it->second;
  }
  // The job of this JobKey (every model holds every job).
  const ApiJob& JobOf(const std::string& key) {
    const ApiJob* job = Main().Find(key);
    if (job == nullptr) throw Failure("the checker lost job " + key);
    return *job;
  }

  // ---- the fake APIs: one, or one per workspace ("": without workspaces)
  bool Workspaces() const { return profile_ == Profile::kWorkspaces; }
  FakeApi& Api(const std::string& workspace) { return *apis_.at(workspace); }
  // The X-API-ID the replica sends to the workspace's API.
  static std::string ClientOf(const Replica& replica, const std::string& workspace) {
    return workspace.empty() ? replica.ApiId() : WorkspaceApiId(workspace);
  }
  // The workspaces polled now ("" alone without workspaces).
  std::vector<std::string> Polled() const {
    if (!Workspaces()) return {""};
    return {config_.workspaces.begin(), config_.workspaces.end()};
  }
  // Serves the job from its API from now on, and tells every model.
  void PutJob(const ApiJob& job) {
    Api(job.workspace).Put(job);
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
    if (Workspaces()) {
      for (const char* workspace : kWorkspaceNames) {
        config_.all_workspaces.push_back(workspace);
        config_.workspaces.insert(workspace);
        testsupport::WriteFile(dir_.File(std::string(workspace) + ".id"),
                               WorkspaceApiId(workspace) + "\n");
        testsupport::WriteFile(dir_.File(std::string(workspace) + ".key"),
                               WorkspaceApiKey(workspace) + "\n");
      }
      // A cap over both workspaces, reached, that stays as it is; or none.
      if (Chance(0.4)) config_.max_tracked_jobs = static_cast<size_t>(Uniform(3, 6));
    }
    WriteIdsFile();
    WriteConfig();
    Op(std::string("start (profile ") + ProfileName(profile_) + ")" +
       (config_.max_tracked_jobs != kNoCap
            ? ", max_tracked_jobs " + std::to_string(config_.max_tracked_jobs)
            : std::string()));
    for (auto& replica : replicas_) StartExporter(*replica);
    const double started = Now();
    for (auto& replica : replicas_) {
      replica->model.watching_since = started;
      replica->model.Start(config_);
    }
    Quiet();
    if (Workspaces()) {
      // At least one id in both workspaces: a job, then another with its id in the other one.
      Step(&Sequence::CreateJob);
      Step(&Sequence::CreateTwin);
    }
    const int steps = Uniform(8, 14);
    for (int step = 0; step < steps; ++step) Step();
    if (Main().disk_full) {
      DiskEmpty();
      Quiet();
    }
    if (Workspaces() &&
        (config_.workspaces.size() < config_.all_workspaces.size() || !config_.kinds_off.empty())) {
      // Every workspace and kind section back before the end: a removed one's counts must come
      // back whole.
      ModelConfig next = config_;
      next.workspaces.insert(config_.all_workspaces.begin(), config_.all_workspaces.end());
      next.kinds_off.clear();
      Op("POST /-/reload with every workspace and kind section back: " + DescribeConfig(next));
      config_ = next;
      WriteConfig();
      Reload(false);
      Quiet();
    }
    Op("final clean restart");
    for (auto& replica : replicas_) Restart(*replica, SIGTERM, config_);
    Quiet();
  }

  // One operation (`forced`, when it applies; else a random one), maybe a kill, a quiet point.
  void Step(bool (Sequence::*forced)() = nullptr) {
    struct Choice {
      double weight;
      bool (Sequence::*op)();
    };
    const bool churn = profile_ == Profile::kChurn;
    const bool webhooks = profile_ != Profile::kShards;
    // Zero weights last: the other profiles draw as they did before "workspaces".
    const std::vector<Choice> choices = {
        {4, &Sequence::CreateJob},
        {4.5, &Sequence::AdvanceJob},
        {webhooks ? 1.5 : 0.0, &Sequence::Webhook},
        {1.2, &Sequence::IdsFileAdd},
        {profile_ == Profile::kCap ? 0.2 : 0.6, &Sequence::IdsFileRemove},
        {1.5, &Sequence::RestartOp},
        {Workspaces() ? 2.0 : 1.2, &Sequence::ReloadOp},
        {churn ? 0.5 : 0.0, &Sequence::DiskOp},
        {Workspaces() ? 1.0 : 0.0, &Sequence::CreateTwin},
    };
    double total = 0;
    for (const auto& choice : choices) total += choice.weight;
    for (int attempt = 0; attempt < 20; ++attempt) {
      kill_safe_ = true;
      kill_drawn_only_ = false;
      if (forced != nullptr && attempt == 0) {
        if (!(this->*forced)()) continue;
      } else {
        double at = std::uniform_real_distribution<double>(0, total)(random_);
        size_t i = 0;
        while (i + 1 < choices.size() && at >= choices[i].weight) at -= choices[i++].weight;
        if (!(this->*choices[i].op)()) continue;
      }
      if (kill_safe_ && Chance(0.25)) {
        // A kill (or a clean stop) at a random moment: what the exporter did of the change is
        // unknown, and the model must not care.
        const int delay = Uniform(0, 300);
        const bool hard = Chance(0.6);
        Replica& replica = AnyReplica();
        if (!kill_drawn_only_) {
          Op(std::string(hard ? "SIGKILL" : "SIGTERM") + " after " + std::to_string(delay) +
             " ms, restart" + (Sharded() ? " of shard " + std::to_string(replica.shard) : ""));
          std::this_thread::sleep_for(milliseconds(delay));
          Restart(replica, hard ? SIGKILL : SIGTERM, config_);
        }
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
    std::string out = (job.workspace.empty() ? "" : job.workspace + " ") + job.kind + " " + job.id +
                      " " + job.status;
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

  bool CreateJob() { return NewJob(nullptr); }

  // A job whose id is that of a job of the other workspace (another job, of the same kind).
  bool CreateTwin() {
    if (!Workspaces() || Main().jobs.size() >= 14) return false;
    std::vector<ApiJob> candidates;
    for (const auto& job : Main().jobs) {
      ApiJob twin = job;
      twin.workspace =
          job.workspace == kWorkspaceNames[0] ? kWorkspaceNames[1] : kWorkspaceNames[0];
      if (Main().Find(JobKey(twin)) == nullptr) candidates.push_back(job);
    }
    if (candidates.empty()) return false;
    return NewJob(&Pick(candidates));
  }

  // A new job (`twin`: with the id and kind of that job of the other workspace).
  bool NewJob(const ApiJob* twin) {
    if (Main().jobs.size() >= 14) return false;
    ApiJob job;
    if (twin != nullptr) {
      job.workspace =
          twin->workspace == kWorkspaceNames[0] ? kWorkspaceNames[1] : kWorkspaceNames[0];
      job.kind = twin->kind;
      job.id = twin->id;
    } else {
      if (Workspaces()) job.workspace = kWorkspaceNames[Uniform(0, 1)];
      job.kind = Chance(0.5) ? kAdsClone : kAurora;
      job.id = NewId(job.kind);
    }
    const bool old = Chance(0.25);
    // Far from the boundaries: days before watching_since, or now (after the first start).
    job.created_at = Millis(old ? Main().watching_since - 3 * 86400 - Uniform(0, 3600) : Now());
    job.updated_at = job.created_at;
    job.status = Chance(0.5) ? "pending" : "running";
    if (Chance(0.35)) Finish(job, false);
    PutJob(job);
    std::string how = job.kind == kAurora ? "listed" : "unknown to the exporter";
    if (job.kind == kAdsClone) {
      const double way = std::uniform_real_distribution<double>(0, 1)(random_);
      if (way < 0.35) {
        how = "in the ids file";
        config_.file_ids.insert(JobKey(job));
        WriteIdsFile();
        ReconfigureAll();
      } else if (way < 0.6) {
        how = "in the config ids, reloaded";
        config_.config_ids.insert(JobKey(job));
        WriteConfig();
        Reload(false);
      } else if (way < 0.85 && !Sharded()) {
        how = "announced by webhook";
        Op("create " + Describe(job) + ", " + how);
        kill_safe_ = false;  // a webhook lost to a kill is not sent again
        PostWebhook(JobKey(job));
        return true;
      }
    }
    if (twin != nullptr) how += ", the id of " + JobKey(*twin);
    Op("create " + Describe(job) + ", " + how);
    return true;
  }

  bool AdvanceJob() {
    std::vector<ApiJob> candidates;
    for (const auto& job : Main().jobs) {
      if (IsTerminalWord(job.status)) continue;
      if (job.created_at < Main().watching_since) {
        // An old job finishes only once its unfinished sighting was written and its kind is
        // on: else whether it finished while watched would depend on timing. Or while its
        // workspace is out of the config, which keeps its rows untouched: the written sighting
        // counts it when the workspace returns (a kind section left out is a kind switched off).
        const Facts* durable = Durable(job);
        if (durable == nullptr || !durable->seen_unfinished) continue;
        const bool away = Workspaces() && !config_.workspaces.contains(job.workspace) &&
                          !config_.kinds_off.contains(job.workspace + "/" + job.kind);
        if (!config_.Enabled(job) && !away) continue;
      }
      candidates.push_back(job);
    }
    if (candidates.empty()) return false;
    ApiJob job = Pick(candidates);
    if (job.status == "pending" && Chance(0.3)) {
      job.status = "running";
    } else {
      const Facts* durable = Durable(job);
      Finish(job, durable != nullptr && durable->seen_unfinished);
    }
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
    for (int i = 0; i < times; ++i) PostWebhook(JobKey(job));
    return true;
  }

  bool IdsFileAdd() {
    std::vector<std::string> candidates;
    for (const auto& job : Main().jobs) {
      if (job.kind == kAdsClone && !config_.Listed(JobKey(job))) candidates.push_back(JobKey(job));
    }
    if (candidates.empty()) return false;
    const std::string key = Pick(candidates);
    config_.file_ids.insert(key);
    WriteIdsFile();
    ReconfigureAll();
    Op("add " + key + " to the ids file");
    return true;
  }

  bool IdsFileRemove() {
    // Only ids whose terminal answer was taken and written: an unfinished job removed while the
    // exporter runs stops being polled, and one removed while it is down does not. Only while
    // the exporter reads the file (its workspace is configured). Under a cap over two
    // workspaces, never: a slot freed would go to whichever workspace's poller asks first.
    if (Workspaces() && config_.max_tracked_jobs != kNoCap) return false;
    std::vector<std::string> candidates;
    for (const auto& key : config_.file_ids) {
      const ApiJob& job = JobOf(key);
      const Facts* durable = Durable(job);
      if (durable != nullptr && durable->taken && Memory(job).taken &&
          !config_.config_ids.contains(key) && (!Workspaces() || config_.Enabled(job))) {
        candidates.push_back(key);
      }
    }
    if (candidates.empty()) return false;
    const std::string key = Pick(candidates);
    config_.file_ids.erase(key);
    WriteIdsFile();
    ReconfigureAll();
    Op("remove " + key + " from the ids file");
    // Under a cap, the slot the finished job leaves is free after a kill only if the exporter
    // wrote the removal first: which job then finds the cap reached is not part of the contract
    // until a quiet point.
    if (profile_ == Profile::kCap) kill_drawn_only_ = true;
    return true;
  }

  // A config change for a restart or a reload (`restart`: the cap may be lowered below what is
  // tracked, which a start puts aside).
  ModelConfig ChangedConfig(bool restart, std::string* what) {
    ModelConfig next = config_;
    if (Workspaces()) {
      ChangeWorkspaces(next);
    } else if (profile_ != Profile::kCap) {
      if (Chance(0.4)) {
        const bool ads = Chance(0.5);
        bool& flag = ads ? next.ads_clone_enabled : next.aurora_enabled;
        // Whether a start keeps the jobs of a kind that is off is not part of the contract:
        // switch ads_clone off only when no unfinished job is known by a webhook alone.
        bool webhook_only = false;
        for (const auto& job : Main().jobs) {
          const Facts& f = Memory(job);
          webhook_only = webhook_only || (job.kind == kAdsClone && f.tracked && !f.taken &&
                                          !next.Listed(JobKey(job)));
        }
        if (!(flag && ads && webhook_only)) flag = !flag;
        if (!next.ads_clone_enabled && !next.aurora_enabled) flag = true;
        if (!flag) kind_switched_off_ = true;
      }
      if (Chance(0.3)) next.terminal_retention = next.terminal_retention == 900 ? 1 : 900;
      if (Chance(0.3)) next.forget_after = next.forget_after == 3600 ? 7 * 86400 : 3600;
      if (Chance(0.2) && !next.config_ids.empty()) {
        // Takes a finished id out of the config.
        for (const auto& key : next.config_ids) {
          const ApiJob& job = JobOf(key);
          const Facts* durable = Durable(job);
          if (durable != nullptr && durable->taken && Memory(job).taken &&
              !next.file_ids.contains(key)) {
            next.config_ids.erase(key);
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
    *what = DescribeConfig(next);
    return next;
  }

  // The "workspaces" profile's changes, under no cap (with a cap, no job stops being tracked, so
  // that no slot is freed for the two workspaces' pollers to race for): a workspace taken away or
  // brought back, or a kind section of one; a finished id out of the config. A workspace or an
  // ads_clone section goes only when no unfinished ads_clone job of it is known by a webhook alone
  // (whether a start keeps those is not part of the contract), and a configured workspace keeps at
  // least one kind.
  void ChangeWorkspaces(ModelConfig& next) {
    auto webhook_only = [&](const std::string& workspace) {
      for (const auto& job : Main().jobs) {
        const Facts& f = Memory(job);
        if (job.workspace == workspace && job.kind == kAdsClone && f.tracked && !f.taken &&
            !next.Listed(JobKey(job))) {
          return true;
        }
      }
      return false;
    };
    if (next.max_tracked_jobs == kNoCap && Chance(0.7)) {
      if (Chance(0.7)) {
        std::string removed;
        for (const auto& workspace : next.all_workspaces) {
          if (!next.workspaces.contains(workspace)) removed = workspace;
        }
        if (!removed.empty()) {
          next.workspaces.insert(removed);
        } else {
          const std::string& workspace = Pick(next.all_workspaces);
          if (!webhook_only(workspace)) {
            next.workspaces.erase(workspace);
            kind_switched_off_ = true;
          }
        }
      } else {
        const std::string workspace =
            Pick(std::vector<std::string>(next.workspaces.begin(), next.workspaces.end()));
        const std::string kind = Chance(0.5) ? kAdsClone : kAurora;
        const std::string other = kind == kAdsClone ? kAurora : kAdsClone;
        const std::string section = workspace + "/" + kind;
        if (next.kinds_off.contains(section)) {
          next.kinds_off.erase(section);
        } else if (!next.kinds_off.contains(workspace + "/" + other) &&
                   !(kind == kAdsClone && webhook_only(workspace))) {
          next.kinds_off.insert(section);
          kind_switched_off_ = true;
        }
      }
    }
    if (next.max_tracked_jobs == kNoCap && Chance(0.2)) {
      for (const auto& key : next.config_ids) {
        const ApiJob& job = JobOf(key);
        const Facts* durable = Durable(job);
        if (durable != nullptr && durable->taken && Memory(job).taken &&
            !next.file_ids.contains(key) && config_.Enabled(job)) {
          next.config_ids.erase(key);
          break;
        }
      }
    }
  }

  std::string DescribeConfig(const ModelConfig& next) {
    auto ids = [](const std::set<std::string>& set) {
      std::string out;
      for (const auto& id : set) out += (out.empty() ? "" : ",") + id;
      return "[" + out + "]";
    };
    if (Workspaces()) {
      return "workspaces " + ids(next.workspaces) + ", kind sections left out " +
             ids(next.kinds_off) + ", max_tracked_jobs " + std::to_string(next.max_tracked_jobs) +
             ", config ids " + ids(next.config_ids);
    }
    char text[256];
    std::snprintf(text, sizeof text,
                  "ads_clone %s, aurora %s, retention %s, forget_after %s, "
                  "max_tracked_jobs %zu, config ids %s",
                  next.ads_clone_enabled ? "on" : "off", next.aurora_enabled ? "on" : "off",
                  Duration(next.terminal_retention).c_str(), Duration(next.forget_after).c_str(),
                  next.max_tracked_jobs, ids(next.config_ids).c_str());
    return text;
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

  // The ads_clone ids of the workspace ("": without workspaces) in `keys`.
  std::vector<std::string> IdsOf(const std::set<std::string>& keys, const std::string& workspace) {
    std::vector<std::string> ids;
    for (const auto& key : keys) {
      const ApiJob& job = JobOf(key);
      if (job.workspace == workspace) ids.push_back(job.id);
    }
    return ids;
  }

  std::string IdsFilePath(const std::string& workspace) {
    return dir_.File(workspace.empty() ? "ads_clone.ids" : "ads_clone-" + workspace + ".ids");
  }

  // `workspaces:`: the configured ones, each with its own API, credentials and kind sections.
  void WriteWorkspaces(std::ostream& out) {
    out << "workspaces:\n";
    for (const auto& workspace : config_.all_workspaces) {
      if (!config_.workspaces.contains(workspace)) continue;
      out << "  - name: " << workspace
          << "\n    api:\n      base_url: http://127.0.0.1:" << Api(workspace).port()
          << "\n      api_id_file: \"" << dir_.File(workspace + ".id")
          << "\"\n      api_key_file: \"" << dir_.File(workspace + ".key") << "\"\n";
      if (config_.Enabled(workspace, kAdsClone)) {
        out << "    ads_clone:\n      ids: [";
        bool first = true;
        for (const auto& id : IdsOf(config_.config_ids, workspace)) {
          out << (first ? "" : ", ") << "\"" << id << "\"";
          first = false;
        }
        out << "]\n      ids_file: \"" << IdsFilePath(workspace) << "\"\n";
      }
      if (config_.Enabled(workspace, kAurora)) out << "    aurora: {}\n";
    }
  }

  // The same configuration for every replica, each with its own state file.
  void WriteConfig() {
    for (const auto& replica : replicas_) {
      std::ostringstream out;
      const auto timeout = testsupport::Scaled(milliseconds(2000));
      out << "api:\n";
      // With workspaces, each names its own API.
      if (!Workspaces()) out << "  base_url: http://127.0.0.1:" << Api("").port() << "\n";
      out << "  timeout: " << timeout.count() << "ms\n  max_concurrency: 4\n"
          << "poll_interval: 100ms\ndiscovery_interval: 100ms\n"
          << "terminal_retention: " << Duration(config_.terminal_retention) << "\n"
          << "max_tracked_jobs: " << config_.max_tracked_jobs << "\n"
          << "state:\n  path: \"" << dir_.File(replica->Name("state", ".db")) << "\"\n"
          << "  forget_after: " << Duration(config_.forget_after) << "\n";
      // A sharded webhook needs the peers' addresses, which are chosen at run time.
      if (!Sharded()) out << "webhook:\n  token: \"" << kToken << "\"\n";
      if (Workspaces()) {
        WriteWorkspaces(out);
      } else {
        out << "ads_clone:\n  enabled: " << (config_.ads_clone_enabled ? "true" : "false")
            << "\n  ids: [";
        bool first = true;
        for (const auto& id : config_.config_ids) {
          out << (first ? "" : ", ") << "\"" << id << "\"";
          first = false;
        }
        out << "]\n  ids_file: \"" << IdsFilePath("") << "\"\n"
            << "custom_template_jobs:\n  enabled: false\n"
            << "aurora:\n  enabled: " << (config_.aurora_enabled ? "true" : "false") << "\n";
      }
      out << "breakdown:\n  max_values: " << config_.breakdown_max_values << "\n  fields: [";
      for (size_t i = 0; i < config_.breakdown_fields.size(); ++i) {
        out << (i == 0 ? "" : ", ") << config_.breakdown_fields[i];
      }
      out << "]\n";
      const std::string path = ConfigPath(*replica);
      testsupport::WriteFile(path + ".tmp", out.str());
      std::filesystem::rename(path + ".tmp", path);
    }
  }

  // The ids file, or one per workspace.
  void WriteIdsFile() {
    std::vector<std::string> workspaces = config_.all_workspaces;
    if (workspaces.empty()) workspaces.push_back("");
    for (const auto& workspace : workspaces) {
      std::string text = "# checker\n";
      for (const auto& id : IdsOf(config_.file_ids, workspace)) text += id + "\n";
      const std::string path = IdsFilePath(workspace);
      testsupport::WriteFile(path + ".tmp", text);
      std::filesystem::rename(path + ".tmp", path);
    }
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
      replica.terminal_at_start[JobKey(job)] =
          Api(job.workspace).TerminalServes(job.id, ClientOf(replica, job.workspace));
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

  // POST /webhook/{kind}/{token}, with workspaces /webhook/{workspace}/{kind}/{token}: 404 when
  // the workspace is not configured or the kind is not on in it.
  void PostWebhook(const std::string& key) {
    const ApiJob job = JobOf(key);
    Replica& replica = OwnerOf(job);
    const std::string route = job.workspace.empty() ? job.kind : job.workspace + "/" + job.kind;
    auto result = testsupport::HttpPost(
        replica.exporter->port(), "/webhook/" + route + "/" + kToken,
        "{\"id\": \"" + job.id + "\", \"status\": \"done\"}", "application/json");
    const int expected = config_.Enabled(job) ? 202 : 404;
    if (result.status != expected) {
      throw Failure("webhook for " + key + " answered " + std::to_string(result.status) +
                    ", expected " + std::to_string(expected));
    }
    replica.model.Webhook(key);
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

  // Waits until every replica read every job in its current state and published it, then
  // compares /metrics with the model.
  void Quiet() {
    for (auto& [workspace, api] : apis_) {
      if (api->Refused() > 0) {
        throw Failure("the fake API of workspace " + workspace + " answered " +
                      std::to_string(api->Refused()) +
                      " requests 401: they carried another workspace's credentials, or none");
      }
    }
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
    std::map<std::string, std::pair<int, int>> last;  // key -> (answers, cycle of the last)
    const bool answered = testsupport::WaitFor(
        [&] {
          bool all = true;
          for (const auto& p : pending) {
            const ApiJob& job = JobOf(p.key);
            FakeApi& api = Api(job.workspace);
            const int cycle = api.Cycles();
            const int served = api.TerminalServes(job.id, ClientOf(replica, job.workspace));
            if (served >= p.total && served - replica.terminal_at_start[p.key] >= p.since_start) {
              continue;
            }
            auto [it, inserted] = last.try_emplace(p.key, served, cycle);
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
    if (replica.model.disk_full) {
      // Nothing is published while writes fail: wait for cycles of the API instead (no full
      // disk with workspaces).
      const int cycles = Api("").Cycles();
      const bool polled = testsupport::WaitFor(
          [&] { return Api("").Cycles() >= cycles + 4 || replica.exporter->Exited().has_value(); },
          timeout);
      CheckAlive(replica);
      if (!polled) throw Failure("not quiet: the exporter stopped polling");
    } else {
      // A whole poll cycle that began after the operation, applied and shown. /metrics shows a
      // snapshot only once the state file holds it, so a rendered poll count can trail the store
      // by a cycle or more. A snapshot that shows a write that ended after `now` was published
      // after `now`: its poll count P (per workspace) is at least the store's then, a cycle that
      // was under way then is cycle P+1 at most, and cycle P+2 began after `now`.
      const double now = Now();
      std::optional<testsupport::Exposition> after;
      const bool written = testsupport::WaitFor(
          [&] {
            after = Scrape(replica);
            return after->Value("creatify_exporter_state_last_write_timestamp_seconds", {})
                       .value_or(0) > now;
          },
          timeout);
      if (!written) {
        CheckAlive(replica);
        throw Failure(
            "not quiet: creatify_exporter_state_last_write_timestamp_seconds did not advance");
      }
      for (const auto& workspace : Polled()) {
        const double polled = PollCount(*after, workspace);
        if (!testsupport::WaitFor(
                [&] { return PollCount(Scrape(replica), workspace) >= polled + 2; }, timeout)) {
          CheckAlive(replica);
          throw Failure("not quiet: creatify_exporter_poll_duration_seconds_count" +
                        (workspace.empty() ? std::string() : "{workspace=\"" + workspace + "\"}") +
                        " did not advance");
        }
      }
    }
  }

  // The poll cycles of the workspace ("": without workspaces), each of which has its own.
  static double PollCount(const testsupport::Exposition& metrics, const std::string& workspace) {
    std::map<std::string, std::string> labels;
    if (!workspace.empty()) labels["workspace"] = workspace;
    return metrics.Value("creatify_exporter_poll_duration_seconds_count", labels).value_or(0);
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
    std::vector<std::string> workspaces = config_.all_workspaces;
    if (workspaces.empty()) workspaces.push_back("");
    for (const auto& workspace : workspaces) {
      const std::string scope = workspace.empty() ? "" : "workspace=\"" + workspace + "\",";
      for (const char* kind : {kAdsClone, kAurora}) {
        std::map<std::string, std::string> labels = {{"kind", kind}};
        if (!workspace.empty()) labels["workspace"] = workspace;
        if (!config_.Enabled(workspace, kind) && !model.disk_full &&
            metrics.Count("creatify_jobs_completed_total", labels) > 0) {
          diff += "  creatify_jobs_completed_total{" + scope + "kind=\"" + kind +
                  "\"}: switched off, still on /metrics\n";
        }
      }
      // A workspace taken out of the config leaves the output whole.
      if (!workspace.empty() && !config_.workspaces.contains(workspace)) {
        for (const auto& sample : metrics.samples) {
          auto it = sample.labels.find("workspace");
          if (it != sample.labels.end() && it->second == workspace) {
            diff += "  " + SeriesKey(sample.name, sample.labels) +
                    ": of a workspace taken out of the config, still on /metrics\n";
            break;
          }
        }
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
      const Facts& f = Memory(job);
      Replica& owner = OwnerOf(job);
      out << "  " << Describe(job) << ": "
          << (Sharded() ? "shard " + std::to_string(owner.shard) + " " : std::string())
          << (f.tracked ? "tracked " : "") << (f.seen_unfinished ? "seen-unfinished " : "")
          << (f.taken ? "taken " : "") << (f.counted ? "counted " : "")
          << (f.remembered ? "remembered " : "") << (f.refused ? "refused " : "")
          << (f.announced ? "announced " : "") << "(served " << Api(job.workspace).Serves(job.id)
          << ", terminal to its owner "
          << Api(job.workspace).TerminalServes(job.id, ClientOf(owner, job.workspace)) << ")\n";
    }
    for (const auto& [workspace, api] : apis_) {
      out << "the fake API's last requests"
          << (workspace.empty() ? std::string() : " (workspace " + workspace + ")") << ":\n"
          << api->Recent();
    }
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
  // By workspace ("": the one API without workspaces).
  std::map<std::string, std::unique_ptr<FakeApi>> apis_;
  ModelConfig config_;
  // After the API and the directory: the exporters stop first.
  std::vector<std::unique_ptr<Replica>> replicas_;
  std::vector<std::string> ops_;
  int quiet_points_ = 0;
  int job_count_ = 0;
  bool kill_safe_ = true;
  // The kill after this operation is drawn, so that the sequence goes on as it would, but not
  // made: its outcome is not part of the contract (kill_safe_ false would change what follows).
  bool kill_drawn_only_ = false;
};

}  // namespace

SequenceResult RunSequence(uint64_t seed, const std::string& binary) {
  Sequence sequence(seed, binary);
  return sequence.Run();
}

}  // namespace checker
