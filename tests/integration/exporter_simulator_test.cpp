// The real exporter against the real simulator: metric values as jobs move, counters against the
// simulator's ground truth, faults survived, and promtool's verdict on the live exposition.
#include <doctest/doctest.h>

#include <cmath>
#include <csignal>

#include "integration/ground_truth.h"
#include "integration/harness.h"
#include "support/golden.h"

using e2e::Exporter;
using e2e::Simulator;
using testsupport::WaitFor;

using e2e::CheckAgainstGroundTruth;
using e2e::Completed;
using e2e::kKinds;
using e2e::SimulatorTerminal;

TEST_CASE("counters follow jobs to their terminal states and equal the simulator's ground truth") {
  testsupport::TempDir dir;
  Simulator simulator(dir, {"--hold", "--seed=7", "--ads-clone-jobs=6", "--custom-template-jobs=6",
                            "--aurora-jobs=6", "--stage-duration=300ms"});
  REQUIRE(simulator.port > 0);
  Exporter exporter(dir, e2e::ConfigFor(simulator.port, simulator.Ids("ads_clone"),
                                        simulator.Ids("custom_template")));
  REQUIRE(exporter.port > 0);
  INFO("exporter log:\n", exporter.process->Log());
  INFO("config:\n", testsupport::ReadFile(dir.File("exporter.yaml")));
  INFO("simulator log:\n", simulator.process->Log());

  // Held: every job is seen pending before anything moves.
  REQUIRE(WaitFor(
      [&] {
        auto m = exporter.Metrics();
        return m.Sum("creatify_jobs", {{"status", "pending"}}) == 18 && m.Value("creatify_up") == 1;
      },
      std::chrono::seconds(20)));
  CHECK(testsupport::HttpGet(exporter.port, "/-/ready").status == 200);
  CHECK(Completed(exporter) == 0);

  REQUIRE(simulator.Release());
  // Jobs are seen moving through the intermediate states.
  REQUIRE(WaitFor(
      [&] {
        return exporter.Metrics().Sum("creatify_jobs", {{"status", "running"}}) > 0;
      },
      std::chrono::seconds(20)));
  REQUIRE(WaitFor([&] { return Completed(exporter) == 18; }, std::chrono::seconds(40)));
  CHECK(SimulatorTerminal(simulator) == 18);
  CheckAgainstGroundTruth(exporter, simulator);

  auto metrics = exporter.Metrics();
  CHECK(metrics.Value("creatify_up") == 1);
  // Per-job series for every job, each with exactly one status set.
  for (const auto& kind : kKinds) {
    for (const auto& id : simulator.Ids(kind)) {
      CHECK_MESSAGE(metrics.Sum("creatify_job_status", {{"kind", kind}, {"job_id", id}}) == 1, id);
      CHECK_MESSAGE(metrics.Count("creatify_job_status", {{"kind", kind}, {"job_id", id}}) == 7,
                    id);
      CHECK(metrics.Count("creatify_job_info", {{"kind", kind}, {"job_id", id}}) == 1);
    }
  }
  // Custom-template progress arrives as a percentage string and is served as a ratio.
  for (const auto& sample : metrics.samples) {
    if (sample.name == "creatify_job_progress_ratio") {
      CHECK(sample.value >= 0);
      CHECK(sample.value <= 1);
    }
  }

  // Terminal jobs are not asked for again: the by-id request counts stop growing.
  auto before = simulator.State()["requests"]["by_endpoint"];
  REQUIRE(WaitFor(
      [&] {
        return exporter.Metrics().Sum("creatify_exporter_api_requests_total",
                                      {{"endpoint", "remaining_credits"}}) >=
               3 + metrics.Sum("creatify_exporter_api_requests_total",
                               {{"endpoint", "remaining_credits"}});
      },
      std::chrono::seconds(20)));
  auto after = simulator.State()["requests"]["by_endpoint"];
  CHECK(after["ads_clone"] == before["ads_clone"]);
  CHECK(after["custom_template"] == before["custom_template"]);
  CHECK(exporter.process->Stop(SIGTERM) == 0);
}

TEST_CASE("stage times and the oldest unfinished jobs agree with the simulator's ground truth") {
  testsupport::TempDir dir;
  // Held, every job is pending and stays so: the exporter's first reads see them all queued.
  // Stages of 0.5 to 1.5 s against a poll every 200 ms: each job is seen in_queue and running.
  Simulator simulator(dir, {"--hold", "--seed=9", "--ads-clone-jobs=4", "--custom-template-jobs=4",
                            "--aurora-jobs=4", "--stage-duration=1s"});
  REQUIRE(simulator.port > 0);
  Exporter exporter(dir, e2e::ConfigFor(simulator.port, simulator.Ids("ads_clone"),
                                        simulator.Ids("custom_template")));
  REQUIRE(exporter.port > 0);
  INFO("exporter log:\n", exporter.process->Log());
  const std::string kOldest = "creatify_oldest_unfinished_job_created_timestamp_seconds";
  const std::vector<std::string> kUnfinished = {"pending", "in_queue", "running", "unknown"};

  REQUIRE(WaitFor(
      [&] {
        auto m = exporter.Metrics();
        return m.Sum("creatify_jobs", {{"status", "pending"}}) == 12 && m.Value("creatify_up") == 1;
      },
      std::chrono::seconds(20)));
  // While held, the statuses stand still: the last poll saw what /sim/state says now.
  {
    auto state = simulator.State();
    auto metrics = exporter.Metrics();
    for (const auto& kind : kKinds) {
      const auto& truth = state["kinds"][kind]["oldest_unfinished_created_at"];
      REQUIRE(truth.contains("pending"));
      for (const auto& status : kUnfinished) {
        INFO(kind, " ", status);
        auto value = metrics.Value(kOldest, {{"kind", kind}, {"status", status}});
        if (!truth.contains(status)) {
          CHECK_FALSE(value);
          continue;
        }
        REQUIRE(value);
        // The API's timestamps carry milliseconds.
        CHECK(std::abs(*value - truth[status].get<double>()) < 0.001);
      }
    }
  }

  REQUIRE(simulator.Release());
  REQUIRE(WaitFor([&] { return Completed(exporter) == 12; }, std::chrono::seconds(60)));
  CHECK(SimulatorTerminal(simulator) == 12);
  auto state = simulator.State();
  auto metrics = exporter.Metrics();
  // A job's queue time is measured to the end of the first poll cycle that saw it running: late
  // by the time between two cycles at most (poll_interval plus the cycle, allowed a second, more
  // under sanitizers), never early; its run time is early by as much, never late. 1 ms per job
  // for the API's millisecond timestamps.
  const double lag =
      0.2 + std::chrono::duration<double>(testsupport::Scaled(std::chrono::seconds(1))).count();
  for (const auto& kind : kKinds) {
    INFO(kind);
    const auto& truth = state["kinds"][kind];
    double jobs = 0;
    for (const auto& status : e2e::kTerminal) jobs += truth["completed"][status].get<double>();
    REQUIRE(jobs == 4);
    // Every job was read pending: every one is observed.
    CHECK(metrics.Value("creatify_job_stage_seconds_count",
                        {{"kind", kind}, {"stage", "queued"}}) == jobs);
    CHECK(metrics.Value("creatify_job_stage_seconds_count",
                        {{"kind", kind}, {"stage", "running"}}) == jobs);
    const double queued =
        metrics.Value("creatify_job_stage_seconds_sum", {{"kind", kind}, {"stage", "queued"}})
            .value_or(-1);
    const double running =
        metrics.Value("creatify_job_stage_seconds_sum", {{"kind", kind}, {"stage", "running"}})
            .value_or(-1);
    const double true_queued = truth["stage_seconds_sum"]["queued"].get<double>();
    const double true_running = truth["stage_seconds_sum"]["running"].get<double>();
    INFO("queued ", queued, " (truth ", true_queued, "), running ", running, " (truth ",
         true_running, ")");
    CHECK(queued >= true_queued - 0.001 * jobs);
    CHECK(queued <= true_queued + lag * jobs);
    CHECK(running <= true_running + 0.001 * jobs);
    CHECK(running >= true_running - lag * jobs);
    // Nothing is unfinished any more: the gauge has no sample.
    CHECK(metrics.Count(kOldest, {{"kind", kind}}) == 0);
  }
  CHECK(exporter.process->Stop(SIGTERM) == 0);
}

TEST_CASE("promtool check metrics passes on the live exposition") {
  testsupport::TempDir dir;
  Simulator simulator(dir, {"--seed=3", "--stage-duration=200ms"});
  Exporter exporter(dir, e2e::ConfigFor(simulator.port, simulator.Ids("ads_clone"),
                                        simulator.Ids("custom_template")));
  REQUIRE(WaitFor([&] { return exporter.Metrics().Value("creatify_up") == 1; },
                  std::chrono::seconds(20)));
  testsupport::WriteFile(dir.File("live.prom"), exporter.MetricsText());
  std::string output;
  int rc = testsupport::RunCommand("promtool check metrics < " + dir.File("live.prom"), &output);
  CHECK_MESSAGE(rc == 0, output);
}

namespace {

// What Prometheus 2.x sends.
const std::multimap<std::string, std::string> kPrometheusAccept = {
    {"Accept",
     "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;"
     "q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1"}};

// The value of the first line of `body` that starts with `series` and a space.
std::optional<std::string> LineValue(const std::string& body, const std::string& series) {
  const size_t at = body.find("\n" + series + " ");
  if (at == std::string::npos) return std::nullopt;
  const size_t start = at + 1 + series.size() + 1;
  return body.substr(start, body.find('\n', start) - start);
}

}  // namespace

TEST_CASE(
    "OpenMetrics as Prometheus asks: the Python parser takes it, _created survives restarts") {
  testsupport::TempDir dir;
  Simulator simulator(dir, {"--seed=3", "--stage-duration=200ms"});
  const std::string state = dir.File("state.db");
  const std::string config = e2e::WithState(
      e2e::ConfigFor(simulator.port, simulator.Ids("ads_clone"), simulator.Ids("custom_template")),
      state);
  auto exporter = std::make_unique<Exporter>(dir, config);
  REQUIRE(WaitFor([&] { return Completed(*exporter) >= 3; }, std::chrono::seconds(30)));
  const auto open_metrics = testsupport::HttpGet(exporter->port, "/metrics", kPrometheusAccept);
  REQUIRE(open_metrics.status == 200);
  CHECK(open_metrics.Header("Content-Type") ==
        "application/openmetrics-text; version=1.0.0; charset=utf-8");
  CHECK(open_metrics.body.ends_with("# EOF\n"));
  testsupport::WriteFile(dir.File("live.om"), open_metrics.body);
  std::string output;
  const int rc = testsupport::RunCommand("/usr/bin/python3 " + std::string(CREATIFY_SOURCE_DIR) +
                                             "/tests/collect/openmetrics_check.py " +
                                             dir.File("live.om") + " 2>&1",
                                         &output);
  CHECK_MESSAGE(rc == 0, output);
  // Everyone else gets the text format.
  const auto text = testsupport::HttpGet(exporter->port, "/metrics");
  CHECK(text.Header("Content-Type") == "text/plain; version=0.0.4; charset=utf-8");
  CHECK(text.body.find("# EOF") == std::string::npos);

  const std::string series = "creatify_jobs_completed_created{kind=\"ads_clone\",status=\"done\"}";
  const auto created = LineValue(open_metrics.body, series);
  REQUIRE(created.has_value());
  REQUIRE(exporter->process->Stop(SIGTERM) == 0);
  testsupport::TempDir second;
  exporter = std::make_unique<Exporter>(second, config);
  std::optional<std::string> again;
  REQUIRE(WaitFor(
      [&] {
        again = LineValue(testsupport::HttpGet(exporter->port, "/metrics", kPrometheusAccept).body,
                          series);
        return again.has_value();
      },
      std::chrono::seconds(10)));
  CHECK(*again == *created);
}

TEST_CASE("faults from the API are survived: nothing lost, counted, up 0 while they last") {
  testsupport::TempDir dir;
  Simulator simulator(dir, {"--hold", "--seed=11", "--ads-clone-jobs=5", "--custom-template-jobs=5",
                            "--aurora-jobs=5", "--stage-duration=300ms", "--fault-429=0.1",
                            "--retry-after=1", "--fault-5xx=0.1", "--fault-malformed=0.15"});
  Exporter exporter(dir, e2e::ConfigFor(simulator.port, simulator.Ids("ads_clone"),
                                        simulator.Ids("custom_template")));
  REQUIRE(WaitFor(
      [&] {
        return exporter.Metrics().Sum("creatify_jobs", {{"status", "pending"}}) == 15;
      },
      std::chrono::seconds(30)));
  REQUIRE(simulator.Release());
  REQUIRE(WaitFor([&] { return Completed(exporter) == 15; }, std::chrono::seconds(60)));
  // Malformed answers may still arrive after the last completion; ground truth is about jobs.
  CheckAgainstGroundTruth(exporter, simulator);

  auto metrics = exporter.Metrics();
  auto faults = simulator.State()["faults"];
  double failed_requests = 0;
  for (const auto& sample : metrics.samples) {
    if (sample.name == "creatify_exporter_api_requests_total" &&
        sample.labels.at("code") != "200" && sample.labels.at("code") != "404") {
      failed_requests += sample.value;
    }
  }
  CHECK(failed_requests > 0);
  if (faults["429"].get<int>() > 0) {
    CHECK(metrics.Sum("creatify_exporter_api_requests_total", {{"code", "429"}}) > 0);
  }
  CHECK(exporter.process->Poll() == std::nullopt);
}

TEST_CASE("aurora jobs created while watching are counted even when first seen finished") {
  testsupport::TempDir dir;
  Simulator simulator(dir, {"--hold", "--seed=5", "--ads-clone-jobs=0", "--custom-template-jobs=0",
                            "--aurora-jobs=0", "--aurora-spawn-interval=100ms",
                            "--max-aurora-jobs=12", "--stage-duration=30ms"});
  // Polls far apart: most jobs are born and finish between two polls.
  std::string config = "api:\n  base_url: http://127.0.0.1:" + std::to_string(simulator.port) +
                       "\npoll_interval: 1s\naurora:\n  enabled: true\n";
  Exporter exporter(dir, config);
  REQUIRE(WaitFor([&] { return testsupport::HttpGet(exporter.port, "/-/ready").status == 200; },
                  std::chrono::seconds(20)));
  REQUIRE(simulator.Release());
  REQUIRE(WaitFor([&] { return SimulatorTerminal(simulator) == 12; }, std::chrono::seconds(30)));
  REQUIRE(WaitFor([&] { return Completed(exporter) == 12; }, std::chrono::seconds(20)));
  CheckAgainstGroundTruth(exporter, simulator, {"aurora"});
}

TEST_CASE("when the API goes away the last known data keeps being served with up 0") {
  testsupport::TempDir dir;
  auto simulator =
      std::make_unique<Simulator>(dir, std::vector<std::string>{"--seed=9", "--stage-duration=1h"});
  Exporter exporter(dir, e2e::ConfigFor(simulator->port, simulator->Ids("ads_clone"),
                                        simulator->Ids("custom_template")));
  REQUIRE(WaitFor([&] { return exporter.Metrics().Value("creatify_up") == 1; },
                  std::chrono::seconds(20)));
  auto before = exporter.Metrics();
  simulator->process->Stop(SIGKILL);
  // Requests under way when it died fail as "read"; the next ones find nobody listening.
  REQUIRE(WaitFor(
      [&] {
        auto m = exporter.Metrics();
        return m.Value("creatify_up") == 0 &&
               m.Sum("creatify_exporter_api_requests_total", {{"code", "connect"}}) > 0;
      },
      std::chrono::seconds(20)));
  auto after = exporter.Metrics();
  CHECK(after.Value("creatify_up") == 0);
  CHECK(after.Sum("creatify_jobs") == before.Sum("creatify_jobs"));
  CHECK(after.Value("creatify_remaining_credits") == before.Value("creatify_remaining_credits"));
  CHECK(after.Count("creatify_job_status") == before.Count("creatify_job_status"));
}

TEST_CASE("wrong credentials are a 401/403 the exporter reports, not a crash") {
  testsupport::TempDir dir;
  Simulator simulator(dir, {"--seed=2", "--api-key=other-key"});
  Exporter exporter(dir, e2e::ConfigFor(simulator.port, simulator.Ids("ads_clone"), {}));
  REQUIRE(WaitFor(
      [&] {
        auto m = exporter.Metrics();
        return m.Sum("creatify_exporter_api_requests_total", {{"code", "403"}}) +
                   m.Sum("creatify_exporter_api_requests_total", {{"code", "401"}}) >
               0;
      },
      std::chrono::seconds(20)));
  CHECK(exporter.Metrics().Value("creatify_up") == 0);
  CHECK(testsupport::HttpGet(exporter.port, "/-/ready").status == 200);
  CHECK(exporter.process->Log().find("demo-key") == std::string::npos);
}
