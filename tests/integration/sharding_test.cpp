// Three exporters, each one shard of the jobs, against one simulator: together they track every
// job exactly once, and their sums equal what one unsharded exporter reports.
#include <arpa/inet.h>
#include <doctest/doctest.h>
#include <httplib.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdint>
#include <set>
#include <string_view>

#include "integration/harness.h"
#include "state/job_record.h"

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

namespace {

// A port free on 127.0.0.10, where the first replica will listen: the replicas listen on
// 127.0.0.10, .11 and .12 (all loopback) with the same port, so that one --shard.peer-url
// template names each of them.
int FreeLoopbackPort(const char* address) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  REQUIRE(fd >= 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = 0;
  REQUIRE(::inet_pton(AF_INET, address, &addr.sin_addr) == 1);
  REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
  socklen_t length = sizeof addr;
  REQUIRE(::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &length) == 0);
  ::close(fd);
  return ntohs(addr.sin_port);
}

}  // namespace

TEST_CASE("a webhook sent to a replica that does not own the job gets it tracked once") {
  testsupport::TempDir dir;
  // The jobs are created once the replicas run (at the release), so that each finishes while they
  // watch: a webhook for a job created before and first read finished is rightly not counted.
  Simulator simulator(dir, {"--hold", "--seed=21", "--stage-duration=50ms", "--ads-clone-jobs=0",
                            "--spawn-interval=ads_clone=10ms", "--max-jobs=9",
                            "--custom-template-jobs=0", "--aurora-jobs=0"});
  const std::string token = "shard-webhook-token-0123456789";
  // The jobs are known only from their webhooks, and polls are rare.
  const std::string config =
      "api:\n  base_url: http://127.0.0.1:" + std::to_string(simulator.port) +
      "\n  timeout: 2s\npoll_interval: 1h\nads_clone: {}\n"
      "custom_template_jobs:\n  enabled: false\naurora:\n  enabled: false\n"
      "webhook:\n  token: " +
      token + "\n";
  const int port = FreeLoopbackPort("127.0.0.10");
  const std::string peer_url = "--shard.peer-url=http://127.0.0.1{shard}:" + std::to_string(port);
  std::vector<std::unique_ptr<testsupport::TempDir>> dirs;
  std::vector<std::unique_ptr<Exporter>> shards;
  for (int i = 0; i < kShards; ++i) {
    dirs.push_back(std::make_unique<testsupport::TempDir>());
    shards.push_back(std::make_unique<Exporter>(
        *dirs.back(), config,
        std::vector<std::string>{
            "--total-shards=3", "--shard=" + std::to_string(i), peer_url,
            "--web.listen-address=127.0.0.1" + std::to_string(i) + ":" + std::to_string(port)}));
  }
  REQUIRE(simulator.Release());
  auto finished = [&] {
    const auto kind = simulator.State()["kinds"]["ads_clone"];
    double total = 0;
    for (const std::string status : {"done", "failed", "rejected"}) {
      total += kind["completed"][status].get<double>();
    }
    return total;
  };
  REQUIRE(testsupport::WaitFor([&] { return finished() == 9; }, std::chrono::seconds(20)));
  const auto ids = simulator.Ids("ads_clone");
  REQUIRE(ids.size() == 9);
  // Every call goes to replica 0, twice (Creatify may call more than once).
  httplib::Client client("127.0.0.10", port);
  for (int round = 0; round < 2; ++round) {
    for (const auto& id : ids) {
      auto result = client.Post("/webhook/ads_clone/" + token, R"({"id":")" + id + R"("})",
                                "application/json");
      REQUIRE(result);
      CHECK(result->status == 202);
    }
  }
  auto sum = [&](const std::string& name, const Labels& labels = {}) {
    double total = 0;
    for (const auto& shard : shards) total += shard->Metrics().Sum(name, labels);
    return total;
  };
  CHECK(
      WaitFor([&] { return sum("creatify_jobs_completed_total") == 9; }, std::chrono::seconds(20)));
  // Each job on exactly one replica: the one its id hashes to.
  std::set<std::string> seen;
  for (int i = 0; i < kShards; ++i) {
    for (const auto& id : JobIds(shards[i]->Metrics())) {
      CHECK(static_cast<int>(state::IdHash(id) % 3) == i);
      CHECK(seen.insert(id).second);
    }
  }
  CHECK(seen.size() == 9);
  auto first = shards[0]->Metrics();
  CHECK(first
            .Value("creatify_exporter_webhook_requests_total",
                   {{"kind", "ads_clone"}, {"result", "forwarded"}})
            .value_or(0) > 0);
  CHECK(sum("creatify_exporter_webhook_requests_total", {{"result", "forward_failed"}}) == 0);
  const auto state = simulator.State()["kinds"]["ads_clone"];
  for (const std::string status : {"done", "failed", "rejected"}) {
    CHECK(sum("creatify_jobs_completed_total", {{"kind", "ads_clone"}, {"status", status}}) ==
          state["completed"][status].get<double>());
  }
}
