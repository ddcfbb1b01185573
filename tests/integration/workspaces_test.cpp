// Two workspaces in one exporter against two simulators, each with its own credentials: every
// series carries its workspace, a 429 in one never slows the other, the webhook route names the
// workspace, the counts of each survive a restart, and a reload takes a workspace away and back.
#include <doctest/doctest.h>

#include <csignal>
#include <string>

#include "integration/harness.h"

namespace {

using testsupport::WaitFor;

constexpr char kToken[] = "workspaces-token-0123456789";
constexpr int kJobsA = 6;
constexpr int kJobsB = 4;

struct Simulators {
  e2e::Simulator a;
  e2e::Simulator b;
};

std::string Workspace(const std::string& name, int port, const std::string& credentials,
                      const std::string& extra_api, const std::string& kinds) {
  return "  - name: " + name +
         "\n    api:\n      base_url: http://127.0.0.1:" + std::to_string(port) +
         "\n      api_id_file: " + credentials + "/id\n      api_key_file: " + credentials +
         "/key\n" + extra_api + kinds;
}

// brand-a polls aurora and its custom templates by id; brand-b polls aurora with one worker.
// Without `with_b`, brand-b is left out.
std::string Config(const Simulators& sims, const std::string& state, bool with_b = true) {
  std::string ids;
  for (const auto& id : sims.a.Ids("custom_template")) ids += (ids.empty() ? "" : ", ") + id;
  const auto timeout = testsupport::Scaled(std::chrono::seconds(2));
  std::string config =
      "poll_interval: 200ms\napi:\n  timeout: " + std::to_string(timeout.count()) +
      "ms\nwebhook:\n  token: " + kToken + "\nworkspaces:\n" +
      Workspace("brand-a", sims.a.port, "a", "",
                "    aurora: {}\n    custom_template_jobs:\n      ids: [" + ids + "]\n");
  if (with_b) {
    config +=
        Workspace("brand-b", sims.b.port, "b", "      max_concurrency: 1\n", "    aurora: {}\n");
  }
  return e2e::WithState(config, state);
}

void WriteCredentials(const testsupport::TempDir& dir) {
  std::filesystem::create_directories(dir.File("a"));
  std::filesystem::create_directories(dir.File("b"));
  testsupport::WriteFile(dir.File("a/id"), "id-of-a\n");
  testsupport::WriteFile(dir.File("a/key"), "key-of-a\n");
  testsupport::WriteFile(dir.File("b/id"), "id-of-b\n");
  testsupport::WriteFile(dir.File("b/key"), "key-of-b\n");
}

double Completed(const testsupport::Exposition& metrics, const std::string& workspace,
                 const std::string& kind) {
  return metrics.Sum("creatify_jobs_completed_total", {{"workspace", workspace}, {"kind", kind}});
}

}  // namespace

TEST_CASE("two workspaces: own credentials, own labels, isolated 429s, webhooks, restart, reload") {
  testsupport::TempDir dir;
  WriteCredentials(dir);
  testsupport::TempDir dir_a, dir_b;
  Simulators sims{
      e2e::Simulator(
          dir_a, {"--api-id=id-of-a", "--api-key=key-of-a", "--seed=41", "--stage-duration=500ms",
                  "--initial-credits=5000", "--aurora-jobs=" + std::to_string(kJobsA),
                  "--custom-template-jobs=3", "--ads-clone-jobs=0"}),
      e2e::Simulator(
          dir_b, {"--api-id=id-of-b", "--api-key=key-of-b", "--seed=42", "--stage-duration=500ms",
                  "--initial-credits=7000", "--aurora-jobs=" + std::to_string(kJobsB),
                  "--custom-template-jobs=0", "--ads-clone-jobs=0"}),
  };
  const std::string state = dir.File("state.db");
  auto exporter = std::make_unique<e2e::Exporter>(dir, Config(sims, state));

  // Each workspace is up with its own credentials (a simulator answers 401 to the other's), and
  // every job of each is counted under its workspace.
  testsupport::Exposition metrics;
  REQUIRE(WaitFor(
      [&] {
        metrics = exporter->Metrics();
        return Completed(metrics, "brand-a", "aurora") == kJobsA &&
               Completed(metrics, "brand-b", "aurora") == kJobsB &&
               Completed(metrics, "brand-a", "custom_template") == 3;
      },
      std::chrono::seconds(30)));
  CHECK(metrics.Value("creatify_up", {{"workspace", "brand-a"}}) == 1);
  CHECK(metrics.Value("creatify_up", {{"workspace", "brand-b"}}) == 1);
  CHECK_FALSE(metrics.Value("creatify_up").has_value());
  CHECK(metrics.Value("creatify_remaining_credits", {{"workspace", "brand-a"}}) ==
        sims.a.State()["remaining_credits"].get<double>());
  CHECK(metrics.Value("creatify_remaining_credits", {{"workspace", "brand-b"}}) ==
        sims.b.State()["remaining_credits"].get<double>());
  // brand-b polls no custom templates: it has no such series.
  CHECK(metrics.Count("creatify_jobs_completed_total",
                      {{"workspace", "brand-b"}, {"kind", "custom_template"}}) == 0);
  // Every kind-level and per-API series names its workspace.
  for (const auto& sample : metrics.samples) {
    if (sample.name.rfind("creatify_jobs", 0) == 0 ||
        sample.name.rfind("creatify_credits", 0) == 0 ||
        sample.name.rfind("creatify_exporter_api_requests", 0) == 0 ||
        sample.name.rfind("creatify_exporter_poll_duration", 0) == 0 ||
        sample.name.rfind("creatify_job_", 0) == 0) {
      CHECK_MESSAGE(sample.labels.contains("workspace"), sample.name);
    }
  }
  CHECK(metrics.Sum("creatify_exporter_api_requests_total",
                    {{"workspace", "brand-a"}, {"code", "401"}}) == 0);
  CHECK(metrics.Sum("creatify_exporter_api_requests_total",
                    {{"workspace", "brand-b"}, {"code", "401"}}) == 0);

  // The webhook route names the workspace; an unknown workspace is refused, counted apart.
  const std::string job_b = sims.b.Ids("aurora").at(0);
  const auto accepted =
      testsupport::HttpPost(exporter->port, std::string("/webhook/brand-b/aurora/") + kToken,
                            "{\"id\":\"" + job_b + "\"}");
  CHECK(accepted.status == 202);
  const auto unknown = testsupport::HttpPost(
      exporter->port, std::string("/webhook/brand-c/aurora/") + kToken, "{\"id\":\"x\"}");
  CHECK(unknown.status == 404);
  const auto old_route = testsupport::HttpPost(
      exporter->port, std::string("/webhook/aurora/") + kToken, "{\"id\":\"x\"}");
  CHECK(old_route.status == 401);
  REQUIRE(WaitFor(
      [&] {
        metrics = exporter->Metrics();
        return metrics.Value(
                   "creatify_exporter_webhook_requests_total",
                   {{"workspace", "brand-b"}, {"kind", "aurora"}, {"result", "accepted"}}) == 1 &&
               metrics.Value("creatify_exporter_webhook_requests_total",
                             {{"workspace", ""}, {"kind", "other"}, {"result", "unknown_kind"}}) ==
                   1;
      },
      std::chrono::seconds(10)));

  // brand-b is rate limited with a long Retry-After: brand-a keeps polling at its own pace.
  REQUIRE(sims.b.SetFault("mode=status&status=429&retry_after=60"));
  REQUIRE(WaitFor(
      [&] {
        metrics = exporter->Metrics();
        return metrics.Value("creatify_up", {{"workspace", "brand-b"}}) == 0;
      },
      std::chrono::seconds(10)));
  const double a_requests =
      metrics.Sum("creatify_exporter_api_requests_total", {{"workspace", "brand-a"}});
  const double b_429 = metrics.Sum("creatify_exporter_api_requests_total",
                                   {{"workspace", "brand-b"}, {"code", "429"}});
  CHECK(b_429 >= 1);
  // Ten more of brand-a's cycles (200 ms each), while brand-b waits out its minute.
  REQUIRE(WaitFor(
      [&] {
        metrics = exporter->Metrics();
        return metrics.Sum("creatify_exporter_api_requests_total", {{"workspace", "brand-a"}}) >=
               a_requests + 10;
      },
      std::chrono::seconds(20)));
  CHECK(metrics.Value("creatify_up", {{"workspace", "brand-a"}}) == 1);
  CHECK(metrics.Sum("creatify_exporter_api_requests_total",
                    {{"workspace", "brand-b"}, {"code", "429"}}) == b_429);
  REQUIRE(sims.b.SetFault("mode=none"));

  // A restart: each workspace's counts come back from the one state file.
  const double a_done = Completed(metrics, "brand-a", "aurora");
  const double b_done = Completed(metrics, "brand-b", "aurora");
  REQUIRE(exporter->process->Stop(SIGTERM) == 0);
  testsupport::TempDir second;
  WriteCredentials(second);
  exporter = std::make_unique<e2e::Exporter>(second, Config(sims, state));
  REQUIRE(WaitFor(
      [&] {
        metrics = exporter->Metrics();
        return metrics.Value("creatify_exporter_state_restored") == 1 &&
               metrics.Value("creatify_up", {{"workspace", "brand-a"}}).has_value();
      },
      std::chrono::seconds(10)));
  CHECK(Completed(metrics, "brand-a", "aurora") == a_done);
  CHECK(Completed(metrics, "brand-b", "aurora") == b_done);

  // A reload without brand-b: its series leave; with it again, its counts come back.
  testsupport::WriteFile(second.File("exporter.yaml"), Config(sims, state, /*with_b=*/false));
  REQUIRE(testsupport::HttpPost(exporter->port, "/-/reload").status == 200);
  // The new configuration shows from the next rendered snapshot.
  REQUIRE(WaitFor(
      [&] {
        metrics = exporter->Metrics();
        return !metrics.Value("creatify_up", {{"workspace", "brand-b"}}).has_value();
      },
      std::chrono::seconds(10)));
  CHECK(metrics.Count("creatify_jobs_completed_total", {{"workspace", "brand-b"}}) == 0);
  CHECK(metrics.Count("creatify_exporter_api_requests_total", {{"workspace", "brand-b"}}) == 0);
  CHECK(Completed(metrics, "brand-a", "aurora") == a_done);
  testsupport::WriteFile(second.File("exporter.yaml"), Config(sims, state));
  REQUIRE(testsupport::HttpPost(exporter->port, "/-/reload").status == 200);
  REQUIRE(WaitFor(
      [&] {
        metrics = exporter->Metrics();
        return metrics.Value("creatify_up", {{"workspace", "brand-b"}}) == 1;
      },
      std::chrono::seconds(10)));
  CHECK(Completed(metrics, "brand-b", "aurora") == b_done);
}
