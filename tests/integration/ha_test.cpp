// Two exporters with the same config and each its own state file against one simulator, as the
// pair of deploy/kubernetes/overlays/ha runs: their counters agree series by series ("Running two
// replicas" in the README), one restarted in the middle or not, and a replica that first started
// late misses exactly the jobs the README says it may.
#include <doctest/doctest.h>

#include <algorithm>
#include <csignal>
#include <memory>

#include "integration/ground_truth.h"
#include "integration/harness.h"

using e2e::Exporter;
using e2e::Simulator;
using testsupport::WaitFor;

namespace {

// The series the replicas of a pair must agree on: the job counters, their breakdown and the
// processing histograms.
bool Counted(const std::string& name) {
  return name == "creatify_jobs_completed_total" || name == "creatify_credits_used_total" ||
         name.rfind("creatify_job_processing_seconds_", 0) == 0 ||
         name.rfind("creatify_breakdown_", 0) == 0;
}

// Those series of one exporter, "name{label=value,...}" -> value.
std::map<std::string, double> CountedSeries(const Exporter& exporter) {
  std::map<std::string, double> series;
  for (const auto& sample : exporter.Metrics().samples) {
    if (!Counted(sample.name)) continue;
    std::string key = sample.name + "{";
    for (const auto& [label, value] : sample.labels) key += label + "=" + value + ",";
    series[key + "}"] = sample.value;
  }
  return series;
}

// Sums (credits, processing seconds) are floating-point additions made in the order each replica
// counted its jobs, which may differ: equal but for rounding. Counts and buckets are equal.
bool IsSum(const std::string& key) {
  return key.rfind("creatify_credits_used_total{", 0) == 0 ||
         key.rfind("creatify_breakdown_credits_used_total{", 0) == 0 ||
         key.rfind("creatify_job_processing_seconds_sum{", 0) == 0;
}

void CheckSameCounts(const Exporter& a, const Exporter& b) {
  const auto first = CountedSeries(a);
  const auto second = CountedSeries(b);
  REQUIRE(!first.empty());
  CHECK(std::any_of(first.begin(), first.end(), [](const auto& series) {
    return series.first.rfind("creatify_breakdown_credits_used_total{", 0) == 0;
  }));
  for (const auto& [key, value] : first) {
    CAPTURE(key);
    auto it = second.find(key);
    REQUIRE_MESSAGE(it != second.end(), "missing from the second replica");
    if (IsSum(key)) {
      CHECK(it->second == doctest::Approx(value).epsilon(1e-12));
    } else {
      CHECK(it->second == value);
    }
  }
  for (const auto& [key, value] : second) {
    CAPTURE(key);
    CHECK_MESSAGE(first.contains(key), "missing from the first replica");
  }
}

int Ids(const Simulator& simulator) {
  int total = 0;
  const auto state = simulator.State();
  for (const auto& kind : e2e::kKinds) {
    total += static_cast<int>(state["kinds"][kind]["ids"].size());
  }
  return total;
}

// An exporter in a directory of its own (config and log), on the state file `state_path`.
std::unique_ptr<Exporter> Start(std::vector<std::unique_ptr<testsupport::TempDir>>& runs,
                                const std::string& config, const std::string& state_path) {
  runs.push_back(std::make_unique<testsupport::TempDir>());
  return std::make_unique<Exporter>(*runs.back(), e2e::WithState(config, state_path));
}

// Jobs the exporter shows unfinished.
double Unfinished(const Exporter& exporter) {
  const auto metrics = exporter.Metrics();
  double total = 0;
  for (const char* status : {"pending", "in_queue", "running", "unknown"}) {
    total += metrics.Sum("creatify_jobs", {{"status", status}});
  }
  return total;
}

bool Ready(const Exporter& exporter) {
  return testsupport::HttpGetFrom(exporter.host, exporter.port, "/-/ready").status == 200;
}

}  // namespace

TEST_CASE("two replicas, one restarted in the middle, end with the same counts") {
  testsupport::TempDir dir;
  // 22 jobs held pending until both replicas run, then 20 more Aurora jobs created one every
  // 250 ms, each finished after three stages of 0.2 to 0.6 s: the last one finishes 5.6 to 6.8 s
  // after the release, well after b is back.
  Simulator simulator(dir, {"--hold", "--seed=31", "--ads-clone-jobs=6", "--custom-template-jobs=6",
                            "--aurora-jobs=10", "--aurora-spawn-interval=250ms",
                            "--max-aurora-jobs=30", "--stage-duration=400ms"});
  REQUIRE(simulator.port > 0);
  const int total = 42;
  // With a breakdown of the counts, whose values stay below max_values (20): its series agree too.
  const std::string config =
      e2e::ConfigFor(simulator.port, simulator.Ids("ads_clone"), simulator.Ids("custom_template"),
                     "breakdown:\n  fields: [model_version, failed_reason]\n");
  std::vector<std::unique_ptr<testsupport::TempDir>> runs;
  auto a = Start(runs, config, dir.File("a.db"));
  auto b = Start(runs, config, dir.File("b.db"));
  REQUIRE(a->port > 0);
  REQUIRE(b->port > 0);
  INFO("replica a log:\n", a->process->Log());
  INFO("simulator log:\n", simulator.process->Log());

  // Both replicas see every held job pending: each will see it finish.
  auto pending = [](const Exporter& exporter) {
    return exporter.Metrics().Sum("creatify_jobs", {{"status", "pending"}});
  };
  REQUIRE(
      WaitFor([&] { return pending(*a) == 22 && pending(*b) == 22; }, std::chrono::seconds(20)));
  REQUIRE(simulator.Release());

  // b stops (SIGTERM) once it has counted some jobs, and stays down while more finish and more
  // are created.
  REQUIRE(WaitFor([&] { return e2e::Completed(*b) >= 8; }, std::chrono::seconds(20)));
  const double completed_before_stop = e2e::Completed(*b);
  CHECK(b->process->Stop(SIGTERM) == 0);
  const double terminal_at_stop = e2e::SimulatorTerminal(simulator);
  const int ids_at_stop = Ids(simulator);
  REQUIRE(WaitFor(
      [&] {
        return e2e::SimulatorTerminal(simulator) >= terminal_at_stop + 8 &&
               Ids(simulator) >= ids_at_stop + 5;
      },
      std::chrono::seconds(20)));
  CHECK(e2e::SimulatorTerminal(simulator) < total);  // b returns before the end

  // b again, on its state file: it goes on from where it stopped.
  b = Start(runs, config, dir.File("b.db"));
  REQUIRE(b->port > 0);
  INFO("replica b log (after the restart):\n", b->process->Log());
  CHECK(b->Metrics().Value("creatify_exporter_state_restored") == 1);
  CHECK(e2e::Completed(*b) >= completed_before_stop);

  // The end: every job of the simulator finished, and both replicas have counted it.
  REQUIRE(WaitFor(
      [&] {
        return Ids(simulator) == total && e2e::SimulatorTerminal(simulator) == total &&
               e2e::Completed(*a) == total && e2e::Completed(*b) == total;
      },
      std::chrono::seconds(40)));
  CheckSameCounts(*a, *b);
  // And both are right: no job was missed, by the one that stayed or by the one that restarted.
  e2e::CheckAgainstGroundTruth(*a, simulator);
  e2e::CheckAgainstGroundTruth(*b, simulator);
  CHECK(a->process->Stop(SIGTERM) == 0);
  CHECK(b->process->Stop(SIGTERM) == 0);
}

TEST_CASE(
    "a replica first started late misses only the jobs that finished before it first polled") {
  testsupport::TempDir dir;
  // Every job exists before either replica starts; they finish 3 to 9 s after the release, so
  // that many are still running when b has started.
  Simulator simulator(dir, {"--hold", "--seed=37", "--ads-clone-jobs=8", "--custom-template-jobs=8",
                            "--aurora-jobs=14", "--stage-duration=2s"});
  REQUIRE(simulator.port > 0);
  const int total = 30;
  const std::string config =
      e2e::ConfigFor(simulator.port, simulator.Ids("ads_clone"), simulator.Ids("custom_template"));
  std::vector<std::unique_ptr<testsupport::TempDir>> runs;
  auto a = Start(runs, config, dir.File("a.db"));
  REQUIRE(a->port > 0);
  INFO("replica a log:\n", a->process->Log());
  REQUIRE(WaitFor(
      [&] {
        return a->Metrics().Sum("creatify_jobs", {{"status", "pending"}}) == 30;
      },
      std::chrono::seconds(20)));
  REQUIRE(simulator.Release());

  // b first starts once some jobs have finished. Those finished when it starts were created
  // before it started watching and are first seen finished: not counted. Those still unfinished
  // once its first poll is over (it is ready) were seen unfinished: counted. Between the two, a
  // job is counted or not as it finished before or after b's first read of it.
  REQUIRE(
      WaitFor([&] { return e2e::SimulatorTerminal(simulator) >= 6; }, std::chrono::seconds(20)));
  const double finished_before_start = e2e::SimulatorTerminal(simulator);
  auto b = Start(runs, config, dir.File("b.db"));
  REQUIRE(b->port > 0);
  INFO("replica b log:\n", b->process->Log());
  REQUIRE(WaitFor([&] { return Ready(*b); }, std::chrono::seconds(20)));
  const double finished_at_first_poll = e2e::SimulatorTerminal(simulator);
  CHECK(finished_at_first_poll < total);

  // The end: every job finished, a counted it, and b has seen it finished (b knew every job from
  // its first poll, and shows none unfinished).
  REQUIRE(WaitFor(
      [&] {
        return e2e::SimulatorTerminal(simulator) == total && e2e::Completed(*a) == total &&
               Unfinished(*b) == 0;
      },
      std::chrono::seconds(40)));

  // a counted everything; b missed between the jobs finished before it started and those
  // finished before its first poll ended, and in every series it counts no more than a.
  e2e::CheckAgainstGroundTruth(*a, simulator);
  const double missed = total - e2e::Completed(*b);
  CHECK(missed >= finished_before_start);
  CHECK(missed <= finished_at_first_poll);
  const auto first = CountedSeries(*a);
  for (const auto& [key, value] : CountedSeries(*b)) {
    CAPTURE(key);
    REQUIRE(first.contains(key));
    if (!IsSum(key)) CHECK(value <= first.at(key));
  }
}
