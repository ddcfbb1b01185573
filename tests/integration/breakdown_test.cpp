// The breakdown families against the real exporter and the simulator: summed over the field
// labels they equal the totals at every moment, across a restart and a reload, and each
// combination holds the jobs the API's own answers give it.
#include <doctest/doctest.h>

#include <csignal>
#include <map>
#include <set>

#include "integration/ground_truth.h"
#include "integration/harness.h"

namespace {

using testsupport::WaitFor;

constexpr int kJobs = 16;
const std::vector<std::string> kFields = {"model_version", "failed_reason"};

// The sums of the breakdown over its field labels equal the totals, per kind and status and per
// kind, on one scrape.
void CheckSums(const testsupport::Exposition& metrics) {
  for (const auto& kind : e2e::kKinds) {
    for (const auto& status : e2e::kTerminal) {
      CHECK_MESSAGE(
          metrics.Sum("creatify_breakdown_jobs_completed_total",
                      {{"kind", kind}, {"status", status}}) ==
              metrics.Value("creatify_jobs_completed_total", {{"kind", kind}, {"status", status}}),
          kind, " ", status);
    }
    CHECK_MESSAGE(
        metrics.Sum("creatify_breakdown_credits_used_total", {{"kind", kind}}) ==
            doctest::Approx(
                metrics.Value("creatify_credits_used_total", {{"kind", kind}}).value_or(-1)),
        kind);
  }
}

std::string Config(const e2e::Simulator& simulator, const std::string& state,
                   const std::string& poll_interval) {
  std::string config = e2e::WithState(
      e2e::ConfigFor(simulator.port, simulator.Ids("ads_clone"), simulator.Ids("custom_template"),
                     "breakdown:\n  fields: [model_version, failed_reason]\n  max_values: 2\n"),
      state);
  const std::string from = "poll_interval: 200ms";
  config.replace(config.find(from), from.size(), "poll_interval: " + poll_interval);
  return config;
}

}  // namespace

TEST_CASE("breakdown sums equal the totals across a restart and a reload, and match the API") {
  testsupport::TempDir dir;
  e2e::Simulator simulator(
      dir, {"--seed=21", "--stage-duration=1s", "--failure-ratio=0.4", "--ads-clone-jobs=4",
            "--custom-template-jobs=" + std::to_string(kJobs), "--aurora-jobs=4"});
  const std::string state = dir.File("state.db");
  auto exporter = std::make_unique<e2e::Exporter>(dir, Config(simulator, state, "200ms"));
  REQUIRE(WaitFor([&] { return e2e::Completed(*exporter) >= 3; }, std::chrono::seconds(30)));
  CheckSums(exporter->Metrics());

  // A restart in the middle: the counts and the names continue.
  const auto before = exporter->Metrics();
  REQUIRE(exporter->process->Stop(SIGTERM) == 0);
  // A folder of its own for the second process's config and log (the state file stays).
  testsupport::TempDir second;
  exporter = std::make_unique<e2e::Exporter>(second, Config(simulator, state, "200ms"));
  testsupport::Exposition after;
  REQUIRE(WaitFor(
      [&] {
        after = exporter->Metrics();
        return after.Value("creatify_up").has_value();
      },
      std::chrono::seconds(10)));
  for (const auto& sample : before.samples) {
    if (sample.name != "creatify_breakdown_jobs_completed_total") continue;
    CHECK(after.Value(sample.name, sample.labels).value_or(-1) >= sample.value);
  }
  CheckSums(after);

  // A reload that changes the poll interval: nothing is lost or counted twice.
  testsupport::WriteFile(second.File("exporter.yaml"), Config(simulator, state, "150ms"));
  REQUIRE(testsupport::HttpPost(exporter->port, "/-/reload").status == 200);
  CheckSums(exporter->Metrics());

  // Every job finished, and the exporter counted it.
  REQUIRE(WaitFor(
      [&] {
        auto truth = simulator.State();
        double terminal = 0;
        double jobs = 0;
        for (const auto& kind : e2e::kKinds) {
          for (const auto& status : e2e::kTerminal) {
            terminal += truth["kinds"][kind]["completed"][status].get<double>();
          }
          jobs += static_cast<double>(truth["kinds"][kind]["ids"].size());
        }
        return terminal == jobs && e2e::Completed(*exporter) == terminal;
      },
      std::chrono::seconds(60)));
  e2e::CheckAgainstGroundTruth(*exporter, simulator);
  const auto metrics = exporter->Metrics();
  CheckSums(metrics);

  // Each custom_template job as the API answers it: its fields, its status and its credits.
  struct Truth {
    std::map<std::string, std::string> fields;
    std::string status;
    double credits = 0;
  };
  std::vector<Truth> jobs;
  std::map<std::string, std::set<std::string>> values;
  for (const auto& id : simulator.Ids("custom_template")) {
    auto answer = testsupport::HttpGet(simulator.port, "/api/custom_template_jobs/" + id + "/",
                                       {{"X-API-ID", "demo-id"}, {"X-API-KEY", "demo-key"}});
    REQUIRE(answer.status == 200);
    const auto job = nlohmann::json::parse(answer.body);
    Truth truth{.status = job["status"].get<std::string>(),
                .credits = job["credits_used"].is_number() ? job["credits_used"].get<double>() : 0};
    for (const auto& field : kFields) {
      truth.fields[field] = job[field].is_string() ? job[field].get<std::string>() : "";
      if (!truth.fields[field].empty()) values[field].insert(truth.fields[field]);
    }
    jobs.push_back(truth);
  }
  // The names /metrics gives each field: two of its values (max_values), when it has that many.
  std::map<std::string, std::set<std::string>> named;
  for (const auto& sample : metrics.samples) {
    if (sample.name != "creatify_breakdown_jobs_completed_total") continue;
    for (const auto& field : kFields) {
      const std::string& value = sample.labels.at(field);
      if (!value.empty() && value != "other") named[field].insert(value);
    }
  }
  for (const auto& field : kFields) {
    INFO("field ", field);
    CHECK(named[field].size() == std::min<size_t>(2, values[field].size()));
    for (const auto& value : named[field]) CHECK(values[field].contains(value));
  }
  std::map<std::map<std::string, std::string>, double> expected;
  std::map<std::map<std::string, std::string>, double> expected_credits;
  for (const auto& job : jobs) {
    std::map<std::string, std::string> labels = {{"kind", "custom_template"}};
    for (const auto& field : kFields) {
      const std::string& value = job.fields.at(field);
      labels[field] = value.empty() || named[field].contains(value) ? value : "other";
    }
    expected_credits[labels] += job.credits;
    labels["status"] = job.status;
    expected[labels] += 1;
  }
  std::map<std::map<std::string, std::string>, double> shown;
  std::map<std::map<std::string, std::string>, double> shown_credits;
  for (const auto& sample : metrics.samples) {
    if (sample.labels.count("kind") == 0 || sample.labels.at("kind") != "custom_template") continue;
    if (sample.name == "creatify_breakdown_jobs_completed_total")
      shown[sample.labels] = sample.value;
    if (sample.name == "creatify_breakdown_credits_used_total") {
      shown_credits[sample.labels] = sample.value;
    }
  }
  CHECK(shown == expected);
  REQUIRE(shown_credits.size() == expected_credits.size());
  for (const auto& [labels, credits] : expected_credits) {
    CHECK(shown_credits[labels] == doctest::Approx(credits));
  }
  CHECK(exporter->process->Stop(SIGTERM) == 0);
}
