// The real exporter with a state file, killed (SIGKILL) at random moments while the simulator's
// jobs move and restarted each time: its counters continue, never go down, and end equal to the
// simulator's ground truth since the first start, including jobs that finished, or were created
// and finished, while it was down.
#include <doctest/doctest.h>
#include <unistd.h>

#include <csignal>
#include <cstring>
#include <filesystem>
#include <random>
#include <thread>

#include "integration/ground_truth.h"
#include "integration/harness.h"

using e2e::Exporter;
using e2e::Simulator;
using testsupport::WaitFor;

namespace {

// Every persisted counter and histogram series seen so far, with the highest value it showed;
// a later sample below it is a count a restart took back.
class CounterWatch {
 public:
  void Sample(const Exporter& exporter) {
    auto result = testsupport::HttpGet(exporter.port, "/metrics");
    if (result.status != 200) return;  // killed mid-scrape
    auto exposition = testsupport::ParseExposition(result.body);
    for (const auto& sample : exposition.samples) {
      if (!Persisted(exposition, sample.name)) continue;
      std::string key = sample.name;
      for (const auto& [name, value] : sample.labels) key += "," + name + "=" + value;
      auto [it, inserted] = highest_.try_emplace(key, sample.value);
      if (!inserted) {
        CHECK_MESSAGE(sample.value >= it->second, key, " went down from ", it->second, " to ",
                      sample.value);
        it->second = std::max(it->second, sample.value);
      }
    }
    ++samples_;
  }
  int samples() const { return samples_; }
  size_t series() const { return highest_.size(); }

 private:
  static bool Persisted(const testsupport::Exposition& exposition, const std::string& name) {
    if (name.rfind("creatify_", 0) != 0) return false;
    // Counts failed writes of this process only (its HELP says "since the exporter started").
    if (name == "creatify_exporter_state_write_errors_total") return false;
    for (const char* suffix : {"_bucket", "_sum", "_count", ""}) {
      const std::string family = name.substr(0, name.size() - std::strlen(suffix));
      if (name.size() < std::strlen(suffix) ||
          name.compare(family.size(), std::string::npos, suffix) != 0) {
        continue;
      }
      auto type = exposition.types.find(family);
      if (type == exposition.types.end()) continue;
      if (type->second == "counter") return std::strlen(suffix) == 0;
      if (type->second == "histogram") return std::strlen(suffix) > 0;
    }
    return false;
  }

  std::map<std::string, double> highest_;
  int samples_ = 0;
};

int Ids(const nlohmann::json& state) {
  int total = 0;
  for (const auto& kind : e2e::kKinds)
    total += static_cast<int>(state["kinds"][kind]["ids"].size());
  return total;
}

int Terminal(const nlohmann::json& state) {
  int total = 0;
  for (const auto& kind : e2e::kKinds) {
    for (const auto& status : e2e::kTerminal) {
      total += state["kinds"][kind]["completed"][status].get<int>();
    }
  }
  return total;
}

// Starts an exporter in a directory of its own (its log names its port), on the shared state file.
std::unique_ptr<Exporter> StartExporter(std::vector<std::unique_ptr<testsupport::TempDir>>& runs,
                                        const std::string& config) {
  runs.push_back(std::make_unique<testsupport::TempDir>());
  return std::make_unique<Exporter>(*runs.back(), config);
}

}  // namespace

TEST_CASE("killed at random moments and restarted, the counters continue to the ground truth") {
  testsupport::TempDir dir;
  const std::string state_path = dir.File("state.db");
  // ~500 jobs: 250 at the start, 250 more created one every 40 ms once released, each done,
  // failed or rejected after three stages of 0.25 to 0.75 s.
  Simulator simulator(dir,
                      {"--hold", "--seed=21", "--ads-clone-jobs=40", "--custom-template-jobs=40",
                       "--aurora-jobs=170", "--aurora-spawn-interval=40ms", "--max-aurora-jobs=420",
                       "--stage-duration=500ms"});
  REQUIRE(simulator.port > 0);
  const std::string config = e2e::WithState(
      e2e::ConfigFor(simulator.port, simulator.Ids("ads_clone"), simulator.Ids("custom_template")),
      state_path);
  const unsigned seed = std::random_device{}();
  INFO("random seed: ", seed);
  std::mt19937 random(seed);
  auto millis = [&](int low, int high) {
    return std::chrono::milliseconds(std::uniform_int_distribution<int>(low, high)(random));
  };
  CounterWatch watch;

  std::vector<std::unique_ptr<testsupport::TempDir>> runs;
  auto exporter = StartExporter(runs, config);
  REQUIRE(exporter->port > 0);
  // Every job is seen pending before anything moves (a job first seen finished that was created
  // before the first start is rightly not counted).
  REQUIRE(WaitFor(
      [&] {
        return exporter->Metrics().Sum("creatify_jobs", {{"status", "pending"}}) == 250;
      },
      std::chrono::seconds(30)));
  REQUIRE(simulator.Release());

  int restarts = 0;
  bool long_stop_done = false;
  while (true) {
    // Alive for a random while, sampled as it goes, then killed at a random moment.
    const auto alive_until = std::chrono::steady_clock::now() + millis(200, 1500);
    while (std::chrono::steady_clock::now() < alive_until) {
      watch.Sample(*exporter);
      std::this_thread::sleep_for(millis(20, 150));
    }
    exporter->process->Stop(SIGKILL);
    auto state = simulator.State();
    const bool finished = Ids(state) == 250 + 250 && Terminal(state) == Ids(state);
    if (!long_stop_done && Ids(state) > 300 && Ids(state) < 450) {
      // Down long enough that jobs running now finish, and jobs created from now on finish too:
      // more jobs finish than were unfinished at the kill.
      const int ids_at_kill = Ids(state);
      REQUIRE(Terminal(state) < ids_at_kill);
      REQUIRE(WaitFor([&] { return Terminal(simulator.State()) >= ids_at_kill + 10; },
                      std::chrono::seconds(30)));
      long_stop_done = true;
    } else {
      std::this_thread::sleep_for(millis(0, 800));
    }
    exporter = StartExporter(runs, config);
    REQUIRE_MESSAGE(exporter->port > 0, exporter->process->Log());
    ++restarts;
    watch.Sample(*exporter);
    if (finished) break;
  }
  CHECK(long_stop_done);
  CHECK(restarts >= 5);

  // Every job finished while the last exporter ran or before it started: it catches up.
  INFO("last exporter log:\n", exporter->process->Log());
  REQUIRE(WaitFor([&] { return e2e::Completed(*exporter) == 500; }, std::chrono::seconds(30)));
  watch.Sample(*exporter);
  e2e::CheckAgainstGroundTruth(*exporter, simulator);
  auto metrics = exporter->Metrics();
  CHECK(metrics.Value("creatify_exporter_state_restored") == 1);
  CHECK(metrics.Value("creatify_exporter_state_write_errors_total") == 0);
  // No file was ever found unusable.
  for (const auto& entry : std::filesystem::directory_iterator(dir.path())) {
    CHECK_MESSAGE(entry.path().string().find(".corrupt-") == std::string::npos, entry.path());
  }
  MESSAGE(restarts, " restarts, ", watch.samples(), " samples of ", watch.series(), " series");
  CHECK(exporter->process->Stop(SIGTERM) == 0);
}

TEST_CASE(
    "SIGTERM writes the last state, and a second exporter on the same file refuses to start") {
  testsupport::TempDir dir;
  // Held until the exporter has seen every job pending: a job first seen finished that was
  // created before the exporter started is rightly not counted, and a slow start (sanitizers)
  // must not make it so.
  Simulator simulator(dir, {"--hold", "--seed=4", "--ads-clone-jobs=0", "--custom-template-jobs=0",
                            "--aurora-jobs=8", "--stage-duration=100ms"});
  const std::string config =
      e2e::WithState(e2e::ConfigFor(simulator.port, {}, {}), dir.File("state.db"));
  std::vector<std::unique_ptr<testsupport::TempDir>> runs;
  auto exporter = StartExporter(runs, config);
  REQUIRE(exporter->port > 0);

  // The second one exits at once with one line naming the file.
  testsupport::WriteFile(dir.File("second.yaml"), config);
  std::string output;
  const int rc = testsupport::RunCommand(
      "CREATIFY_API_ID=demo-id CREATIFY_API_KEY=demo-key " + e2e::Binary("creatify-exporter") +
          " --config.file=" + dir.File("second.yaml") + " --web.listen-address=127.0.0.1:0",
      &output);
  CHECK(rc != 0);
  CHECK(output.find("creatify-exporter: the state file " + dir.File("state.db") +
                    " is in use: another creatify-exporter holds its lock") != std::string::npos);

  REQUIRE(WaitFor(
      [&] {
        return exporter->Metrics().Sum("creatify_jobs", {{"status", "pending"}}) == 8;
      },
      std::chrono::seconds(30)));
  REQUIRE(simulator.Release());
  REQUIRE(WaitFor([&] { return e2e::Completed(*exporter) == 8; }, std::chrono::seconds(30)));
  auto before = exporter->Metrics();
  CHECK(exporter->process->Stop(SIGTERM) == 0);
  exporter = StartExporter(runs, config);
  REQUIRE(exporter->port > 0);
  // Before its first poll: what the last one counted.
  auto after = exporter->Metrics();
  CHECK(after.Value("creatify_exporter_state_restored") == 1);
  CHECK(after.Sum("creatify_jobs_completed_total") == 8);
  CHECK(after.Value("creatify_exporter_api_requests_total",
                    {{"endpoint", "aurora"}, {"code", "200"}}) >=
        before.Value("creatify_exporter_api_requests_total",
                     {{"endpoint", "aurora"}, {"code", "200"}}));
}

TEST_CASE("a corrupt state file is moved aside and the exporter starts afresh, saying why") {
  testsupport::TempDir dir;
  testsupport::WriteFile(dir.File("state.db"), std::string(4096, '#'));
  Simulator simulator(dir, {"--seed=4", "--aurora-jobs=2"});
  Exporter exporter(dir,
                    e2e::WithState(e2e::ConfigFor(simulator.port, {}, {}), dir.File("state.db")));
  REQUIRE(exporter.port > 0);
  CHECK(exporter.Metrics().Value("creatify_exporter_state_restored") == 0);
  const std::string log = exporter.process->Log();
  CHECK(log.find("moved it aside") != std::string::npos);
  CHECK(log.find("state.db.corrupt-") != std::string::npos);
  int moved = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir.path())) {
    moved += entry.path().filename().string().rfind("state.db.corrupt-", 0) == 0 ? 1 : 0;
  }
  CHECK(moved == 1);
}

TEST_CASE(
    "a read-only state directory: polling and /metrics go on, counts wait for a write, errors are "
    "counted") {
  // Root writes through permissions, so as root the exporter runs as nobody (setpriv) from a
  // copy in a directory nobody can read, and the state directory belongs to root.
  testsupport::TempDir dir;
  namespace fs = std::filesystem;
  const bool root = geteuid() == 0;
  fs::permissions(dir.path(), fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec |
                                  fs::perms::others_read | fs::perms::others_exec);
  const std::string binary = dir.File("creatify-exporter");
  fs::copy_file(e2e::Binary("creatify-exporter"), binary);
  const std::string state_dir = dir.File("state");
  fs::create_directory(state_dir);
  const auto read_only = fs::perms::owner_read | fs::perms::owner_exec | fs::perms::group_read |
                         fs::perms::group_exec | fs::perms::others_read | fs::perms::others_exec;
  fs::permissions(state_dir, read_only);

  Simulator simulator(dir, {"--hold", "--seed=5", "--ads-clone-jobs=0", "--custom-template-jobs=0",
                            "--aurora-jobs=6", "--stage-duration=100ms"});
  REQUIRE(simulator.port > 0);
  testsupport::WriteFile(
      dir.File("exporter.yaml"),
      e2e::WithState(e2e::ConfigFor(simulator.port, {}, {}), state_dir + "/state.db"));
  fs::permissions(dir.File("exporter.yaml"), fs::perms::owner_read | fs::perms::owner_write |
                                                 fs::perms::group_read | fs::perms::others_read);
  std::vector<std::string> argv = {binary, "--config.file=" + dir.File("exporter.yaml"),
                                   "--web.listen-address=127.0.0.1:0"};
  if (root) {
    argv.insert(argv.begin(),
                {"/usr/bin/setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"});
  }
  testsupport::Process process(argv, dir.File("exporter.log"),
                               {{"CREATIFY_API_ID", "demo-id"}, {"CREATIFY_API_KEY", "demo-key"}});
  const int port = testsupport::WaitForListeningPort(process);
  REQUIRE(port > 0);
  INFO("exporter log:\n", process.Log());
  auto metrics = [&] {
    return testsupport::ParseExposition(testsupport::HttpGet(port, "/metrics").body);
  };

  // Every job is seen pending (held), then polling goes on, every job is seen finished, and the
  // failed writes are counted; the counts are not shown while no write holds them (a crash would
  // take them back).
  REQUIRE(WaitFor(
      [&] {
        return metrics().Sum("creatify_jobs", {{"status", "pending"}}) == 6;
      },
      std::chrono::seconds(30)));
  REQUIRE(simulator.Release());
  REQUIRE(WaitFor(
      [&] {
        auto m = metrics();
        return m.Value("creatify_up") == 1 &&
               m.Sum("creatify_jobs", {{"status", "done"}}) +
                       m.Sum("creatify_jobs", {{"status", "failed"}}) +
                       m.Sum("creatify_jobs", {{"status", "rejected"}}) ==
                   6 &&
               m.Value("creatify_exporter_state_write_errors_total").value_or(0) >= 2;
      },
      std::chrono::seconds(30)));
  auto before = metrics();
  CHECK(before.Value("creatify_exporter_state_restored") == 0);
  CHECK_FALSE(before.Value("creatify_exporter_state_last_write_timestamp_seconds").has_value());
  CHECK(before.Sum("creatify_jobs_completed_total") == 0);
  CHECK(before.Value("creatify_credits_used_total", {{"kind", "aurora"}}) == 0);
  CHECK(process.Log().find("Cannot write the state") != std::string::npos);

  // Once the directory is writable, everything is written with the next write, and the counts
  // catch up whole.
  fs::permissions(state_dir, fs::perms::all);
  REQUIRE(WaitFor(
      [&] {
        auto m = metrics();
        return m.Value("creatify_exporter_state_last_write_timestamp_seconds").has_value() &&
               m.Sum("creatify_jobs_completed_total") == 6;
      },
      std::chrono::seconds(30)));
  CHECK(process.Stop(SIGTERM) == 0);
  // The restart restores what was counted while the directory was read-only.
  testsupport::TempDir second_run;
  e2e::Exporter restarted(
      second_run, e2e::WithState(e2e::ConfigFor(simulator.port, {}, {}), state_dir + "/state.db"));
  REQUIRE(restarted.port > 0);
  INFO("restarted exporter log:\n", restarted.process->Log());
  auto after = restarted.Metrics();
  CHECK(after.Value("creatify_exporter_state_restored") == 1);
  CHECK(after.Sum("creatify_jobs_completed_total") == 6);
}
