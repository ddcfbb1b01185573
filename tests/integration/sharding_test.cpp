// Three exporters, each one shard of the jobs, against one simulator: together they track every
// job exactly once, and their sums equal what one unsharded exporter reports.
#include <doctest/doctest.h>

#include <set>

#include "integration/harness.h"

using e2e::Exporter;
using e2e::Simulator;
using testsupport::WaitFor;

namespace {

constexpr int kShards = 3;
using Labels = std::map<std::string, std::string>;

std::set<std::string> JobIds(const testsupport::Exposition& metrics) {
  std::set<std::string> ids;
  for (const auto& sample : metrics.samples) {
    if (sample.name != "creatify_job_info") continue;
    for (const auto& [name, value] : sample.labels) {
      if (name == "job_id") ids.insert(value);
    }
  }
  return ids;
}

}  // namespace

TEST_CASE("three shards track every job exactly once and add up to one exporter") {
  testsupport::TempDir dir;
  Simulator simulator(dir,
                      {"--hold", "--seed=11", "--ads-clone-jobs=20", "--custom-template-jobs=20",
                       "--aurora-jobs=30", "--stage-duration=200ms"});
  REQUIRE(simulator.port > 0);
  const std::string config =
      e2e::ConfigFor(simulator.port, simulator.Ids("ads_clone"), simulator.Ids("custom_template"));
  std::vector<std::unique_ptr<testsupport::TempDir>> dirs;
  std::vector<std::unique_ptr<Exporter>> shards;
  for (int i = 0; i < kShards; ++i) {
    dirs.push_back(std::make_unique<testsupport::TempDir>());
    shards.push_back(std::make_unique<Exporter>(
        *dirs.back(), config,
        std::vector<std::string>{"--total-shards=3", "--shard=" + std::to_string(i)}));
    REQUIRE(shards.back()->port > 0);
  }
  testsupport::TempDir single_dir;
  Exporter single(single_dir, config);
  REQUIRE(single.port > 0);

  const double total_jobs = 70;
  auto sum = [&](const std::string& name, const Labels& labels = {}) {
    double total = 0;
    for (const auto& shard : shards) total += shard->Metrics().Sum(name, labels);
    return total;
  };
  // Held: every job is seen pending, by exactly one shard.
  INFO("pending: ", sum("creatify_jobs", {{"status", "pending"}}), "\nshard 0 log:\n",
       shards[0]->process->Log());
  REQUIRE(WaitFor(
      [&] {
        return sum("creatify_jobs", {{"status", "pending"}}) == total_jobs;
      },
      std::chrono::seconds(20)));
  std::set<std::string> seen;
  size_t shown = 0;
  for (const auto& shard : shards) {
    auto ids = JobIds(shard->Metrics());
    CHECK(!ids.empty());
    shown += ids.size();
    seen.insert(ids.begin(), ids.end());
  }
  CHECK(shown == 70);
  CHECK(seen.size() == 70);

  REQUIRE(simulator.Release());
  auto all_done = [&](double completed) { return completed == total_jobs; };
  REQUIRE(WaitFor([&] { return all_done(sum("creatify_jobs_completed_total")); },
                  std::chrono::seconds(40)));
  REQUIRE(WaitFor([&] { return all_done(single.Metrics().Sum("creatify_jobs_completed_total")); },
                  std::chrono::seconds(40)));
  auto one = single.Metrics();
  for (const char* kind : {"ads_clone", "custom_template", "aurora"}) {
    for (const char* status : {"done", "failed", "rejected"}) {
      const Labels labels{{"kind", kind}, {"status", status}};
      CHECK_MESSAGE(sum("creatify_jobs_completed_total", labels) ==
                        one.Sum("creatify_jobs_completed_total", labels),
                    kind, " ", status);
      CHECK_MESSAGE(sum("creatify_jobs", labels) == one.Sum("creatify_jobs", labels), kind, " ",
                    status);
    }
    CHECK(sum("creatify_credits_used_total", {{"kind", kind}}) ==
          doctest::Approx(one.Sum("creatify_credits_used_total", {{"kind", kind}})));
  }
  // The workspace's credits come from shard 0 only; the shard label only on the shard info.
  CHECK(shards[0]->Metrics().Value("creatify_remaining_credits").has_value());
  CHECK_FALSE(shards[1]->Metrics().Value("creatify_remaining_credits").has_value());
  CHECK_FALSE(shards[2]->Metrics().Value("creatify_remaining_credits").has_value());
  for (int i = 0; i < kShards; ++i) {
    auto metrics = shards[i]->Metrics();
    CHECK(metrics.Value("creatify_exporter_shard_info",
                        {{"shard", std::to_string(i)}, {"total_shards", "3"}}) == 1);
    for (const auto& sample : metrics.samples) {
      if (sample.name == "creatify_exporter_shard_info") continue;
      for (const auto& label : sample.labels) CHECK_MESSAGE(label.first != "shard", sample.name);
    }
  }
}
