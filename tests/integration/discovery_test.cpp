// Finding jobs without naming them in the config: webhooks (from the simulator, and hostile or
// careless callers), ids files, and reloading the config by SIGHUP and POST /-/reload.
#include <doctest/doctest.h>
#include <httplib.h>

#include <csignal>
#include <string>

#include "integration/harness.h"

namespace {

constexpr char kToken[] = "e2e-webhook-token-0123456789";

std::string Base(int simulator_port, const std::string& poll_interval = "200ms") {
  return "api:\n  base_url: http://127.0.0.1:" + std::to_string(simulator_port) +
         "\n  timeout: 2s\npoll_interval: " + poll_interval +
         "\ncustom_template_jobs:\n  enabled: false\naurora:\n  enabled: false\n";
}

std::string WebhookSection() { return std::string("webhook:\n  token: ") + kToken + "\n"; }

std::string WebhookPath(const std::string& kind, const std::string& token = kToken) {
  return "/webhook/" + kind + "/" + token;
}

double Completed(const testsupport::Exposition& metrics, const std::string& kind) {
  return metrics.Sum("creatify_jobs_completed_total", {{"kind", kind}});
}

bool Shows(const e2e::Exporter& exporter, const std::string& kind, const std::string& id) {
  return exporter.Metrics().Value("creatify_job_info", {{"kind", kind}, {"job_id", id}}) ||
         exporter.Metrics().Count("creatify_job_info", {{"kind", kind}, {"job_id", id}}) > 0;
}

double WebhookCount(const e2e::Exporter& exporter, const std::string& kind,
                    const std::string& result) {
  return exporter.Metrics()
      .Value("creatify_exporter_webhook_requests_total", {{"kind", kind}, {"result", result}})
      .value_or(-1);
}

}  // namespace

TEST_CASE("webhook: jobs the config never named are counted once, however often Creatify calls") {
  testsupport::TempDir dir;
  // Held until the exporter has read the configured job. The three other jobs are created after
  // the release, so after the exporter started watching: each finishes while it watches, and is
  // counted though the exporter first reads it finished (a job created before it watched and
  // first seen finished is rightly not counted, whether listed or announced by a webhook).
  e2e::Simulator simulator(
      dir, {"--hold", "--seed=11", "--stage-duration=100ms", "--ads-clone-jobs=1",
            "--spawn-interval=ads_clone=50ms", "--max-jobs=4", "--custom-template-jobs=0",
            "--aurora-jobs=0", "--webhook-kinds=ads_clone", "--webhook-calls=3"});
  const auto configured = simulator.Ids("ads_clone");
  REQUIRE(configured.size() == 1);
  // One job is also in the config (seen by poll and by webhook); polls are rare, so the others
  // are known from their webhooks only.
  e2e::Exporter exporter(dir, Base(simulator.port, "1h") + "ads_clone:\n  ids: [\"" +
                                  configured[0] + "\"]\n" + WebhookSection());
  REQUIRE(testsupport::WaitFor(
      [&] {
        return exporter.Metrics().Value("creatify_jobs",
                                        {{"kind", "ads_clone"}, {"status", "pending"}}) == 1;
      },
      std::chrono::seconds(20)));
  REQUIRE(testsupport::HttpPost(
              simulator.port, "/sim/webhook-url",
              "http://127.0.0.1:" + std::to_string(exporter.port) + "/webhook/{kind}/" + kToken)
              .status == 200);
  REQUIRE(simulator.Release());
  REQUIRE(testsupport::WaitFor([&] { return simulator.Ids("ads_clone").size() == 4; },
                               std::chrono::seconds(20)));
  const auto ids = simulator.Ids("ads_clone");

  const auto truth = simulator.State()["kinds"]["ads_clone"];
  CHECK(testsupport::WaitFor([&] { return WebhookCount(exporter, "ads_clone", "accepted") == 12; },
                             std::chrono::seconds(20)));
  CHECK(testsupport::WaitFor([&] { return Completed(exporter.Metrics(), "ads_clone") == 4; },
                             std::chrono::seconds(20)));
  auto metrics = exporter.Metrics();
  const auto state = simulator.State()["kinds"]["ads_clone"];
  for (const std::string status : {"done", "failed", "rejected"}) {
    CHECK(metrics.Value("creatify_jobs_completed_total",
                        {{"kind", "ads_clone"}, {"status", status}}) ==
          state["completed"][status].get<double>());
  }
  CHECK(metrics.Value("creatify_credits_used_total", {{"kind", "ads_clone"}}).value_or(-1) ==
        doctest::Approx(state["credits_used"]["total"].get<double>()));
  for (const auto& id : ids) CHECK(Shows(exporter, "ads_clone", id));
  (void)truth;
}

TEST_CASE("webhook: wrong, missing or no token, unknown kind, oversized and malformed bodies") {
  testsupport::TempDir dir;
  e2e::Simulator simulator(
      dir, {"--seed=12", "--ads-clone-jobs=1", "--custom-template-jobs=0", "--aurora-jobs=0"});
  e2e::Exporter exporter(dir, Base(simulator.port) + "ads_clone: {}\n" + WebhookSection());
  httplib::Client client("127.0.0.1", exporter.port);
  const std::string body = R"({"id":"job-1","status":"done"})";
  // The exporter closes the connection of an oversized body without reading it: the client's
  // writes may then fail, which must not end the test.
  std::signal(SIGPIPE, SIG_IGN);
  CHECK(client.Get(WebhookPath("ads_clone"))->status == 405);

  CHECK(client.Post(WebhookPath("ads_clone", "wrong-token-0123456789xx"), body, "application/json")
            ->status == 401);
  CHECK(client.Post("/webhook/ads_clone/", body, "application/json")->status == 401);
  CHECK(client.Post("/webhook/ads_clone", body, "application/json")->status == 401);
  CHECK(client.Post(WebhookPath("no_such_kind"), body, "application/json")->status == 404);
  // The token is checked before the kind: without it, nobody learns which kinds exist.
  CHECK(client
            .Post(WebhookPath("no_such_kind", "bad-token-0123456789xxxx"), body, "application/json")
            ->status == 401);
  CHECK(client.Post(WebhookPath("ads_clone"), "not json", "application/json")->status == 400);
  CHECK(client.Post(WebhookPath("ads_clone"), R"({"id": 42})", "application/json")->status == 400);
  CHECK(client.Post(WebhookPath("ads_clone"), R"(["job-1"])", "application/json")->status == 400);
  CHECK(client.Post(WebhookPath("ads_clone"), R"({"id":"a/b"})", "application/json")->status ==
        400);
  auto oversized =
      client.Post(WebhookPath("ads_clone"), std::string(65 * 1024, ' '), "application/json");
  CHECK((!oversized || oversized->status == 413));
  // Chunked, with no length announced: cut off at the limit.
  httplib::Client chunked("127.0.0.1", exporter.port);
  auto result = chunked.Post(
      WebhookPath("ads_clone"),
      [](size_t offset, httplib::DataSink& sink) {
        if (offset >= 1024 * 1024) {
          sink.done();
          return true;
        }
        std::string piece(16 * 1024, ' ');
        return sink.write(piece.data(), piece.size());
      },
      "application/json");
  CHECK((!result || result->status == 413));
  CHECK(client.Post(WebhookPath("ads_clone"), body, "application/json")->status == 202);

  CHECK(testsupport::WaitFor(
      [&] {
        return WebhookCount(exporter, "ads_clone", "unauthorized") == 3 &&
               WebhookCount(exporter, "other", "unauthorized") == 1 &&
               WebhookCount(exporter, "other", "unknown_kind") == 1 &&
               WebhookCount(exporter, "ads_clone", "bad_request") == 4 &&
               WebhookCount(exporter, "ads_clone", "accepted") == 1;
      },
      std::chrono::seconds(10)));
  CHECK(WebhookCount(exporter, "ads_clone", "too_large") >= 1);
  // The path's word never becomes a label value.
  CHECK(exporter.MetricsText().find("no_such_kind") == std::string::npos);
}

TEST_CASE("webhook: without a token the route does not exist") {
  testsupport::TempDir dir;
  e2e::Simulator simulator(dir, {"--seed=13"});
  e2e::Exporter exporter(dir, Base(simulator.port) + "ads_clone: {}\n");
  httplib::Client client("127.0.0.1", exporter.port);
  CHECK(client.Post(WebhookPath("ads_clone"), R"({"id":"x"})", "application/json")->status == 404);
  // Not 405 either: no method finds a route that does not exist.
  CHECK(client.Get(WebhookPath("ads_clone"))->status == 404);
  CHECK(client.Put(WebhookPath("ads_clone"), "{}", "application/json")->status == 404);
}

TEST_CASE("ids file: ids added, removed, malformed, and the file deleted and recreated") {
  testsupport::TempDir dir;
  e2e::Simulator simulator(dir, {"--seed=14", "--stage-duration=1h", "--ads-clone-jobs=3",
                                 "--custom-template-jobs=0", "--aurora-jobs=0"});
  const auto ids = simulator.Ids("ads_clone");
  const std::string file = dir.File("ads_clone.ids");
  auto write = [&](const std::string& text) {
    testsupport::WriteFile(file + ".new", text);
    REQUIRE(std::rename((file + ".new").c_str(), file.c_str()) == 0);
  };
  write(ids[0] + "\n");
  e2e::Exporter exporter(dir, Base(simulator.port) + "ads_clone:\n  ids_file: " + file + "\n");
  CHECK(testsupport::WaitFor([&] { return Shows(exporter, "ads_clone", ids[0]); },
                             std::chrono::seconds(10)));
  write("# two now\n" + ids[0] + "\n" + ids[1] + "\nnot an id!\n");
  CHECK(testsupport::WaitFor([&] { return Shows(exporter, "ads_clone", ids[1]); },
                             std::chrono::seconds(10)));
  CHECK(exporter.Metrics().Value("creatify_exporter_ids_file_invalid_lines",
                                 {{"kind", "ads_clone"}}) == 1);
  write(ids[1] + "\n");
  CHECK(testsupport::WaitFor([&] { return !Shows(exporter, "ads_clone", ids[0]); },
                             std::chrono::seconds(10)));
  CHECK(Shows(exporter, "ads_clone", ids[1]));
  std::remove(file.c_str());
  CHECK(testsupport::WaitFor(
      [&] {
        return exporter.Metrics()
                   .Value("creatify_exporter_ids_file_read_errors_total", {{"kind", "ads_clone"}})
                   .value_or(0) >= 1;
      },
      std::chrono::seconds(10)));
  CHECK(Shows(exporter, "ads_clone", ids[1]));
  write(ids[1] + "\n" + ids[2] + "\n");
  CHECK(testsupport::WaitFor([&] { return Shows(exporter, "ads_clone", ids[2]); },
                             std::chrono::seconds(10)));
  CHECK(exporter.process->Log().find("not an id!") != std::string::npos);
}

TEST_CASE("reload by SIGHUP and POST /-/reload: valid and invalid configs, counters survive") {
  testsupport::TempDir dir;
  // Held: every job stays pending until released, so that each is seen running first.
  e2e::Simulator simulator(dir, {"--seed=15", "--stage-duration=50ms", "--ads-clone-jobs=3",
                                 "--custom-template-jobs=0", "--aurora-jobs=0", "--hold"});
  const auto ids = simulator.Ids("ads_clone");
  auto config = [&](const std::string& ads_ids) {
    return Base(simulator.port) + "ads_clone:\n  ids: [" + ads_ids + "]\nstate:\n  path: \"\"\n";
  };
  e2e::Exporter exporter(dir, config("\"" + ids[0] + "\""));
  CHECK(testsupport::WaitFor([&] { return Shows(exporter, "ads_clone", ids[0]); },
                             std::chrono::seconds(10)));

  // SIGHUP with a valid config: the new id is polled.
  testsupport::WriteFile(dir.File("exporter.yaml"),
                         config("\"" + ids[0] + "\", \"" + ids[1] + "\""));
  ::kill(exporter.process->pid(), SIGHUP);
  CHECK(testsupport::WaitFor([&] { return Shows(exporter, "ads_clone", ids[1]); },
                             std::chrono::seconds(10)));
  REQUIRE(simulator.Release());
  CHECK(testsupport::WaitFor([&] { return Completed(exporter.Metrics(), "ads_clone") == 2; },
                             std::chrono::seconds(10)));

  // An invalid config is refused, with the start-up message; the running one stays.
  testsupport::WriteFile(dir.File("exporter.yaml"), "poll_interval: soon\n");
  ::kill(exporter.process->pid(), SIGHUP);
  CHECK(testsupport::WaitFor(
      [&] {
        return exporter.Metrics().Value("creatify_exporter_config_last_reload_successful") == 0;
      },
      std::chrono::seconds(10)));
  CHECK(testsupport::HttpGet(exporter.port, "/-/reload").status == 405);
  auto refused = testsupport::HttpPost(exporter.port, "/-/reload");
  CHECK(refused.status == 500);
  CAPTURE(refused.body);
  CHECK(refused.body.find(dir.File("exporter.yaml") + ":1:16: poll_interval: invalid duration") !=
        std::string::npos);
  CHECK(exporter.process->Log().find("Reload failed") != std::string::npos);
  CHECK(Completed(exporter.Metrics(), "ads_clone") == 2);
  CHECK(exporter.process->Poll() == std::nullopt);

  // POST with a valid config: an id removed leaves the output, its count stays; a kind switched
  // off leaves the output.
  testsupport::WriteFile(dir.File("exporter.yaml"),
                         config("\"" + ids[1] + "\", \"" + ids[2] + "\""));
  auto reloaded = testsupport::HttpPost(exporter.port, "/-/reload");
  CHECK(reloaded.status == 200);
  CHECK(testsupport::WaitFor([&] { return Shows(exporter, "ads_clone", ids[2]); },
                             std::chrono::seconds(10)));
  auto metrics = exporter.Metrics();
  CHECK(metrics.Value("creatify_exporter_config_last_reload_successful") == 1);
  CHECK(metrics.Count("creatify_job_info", {{"job_id", ids[0]}}) == 0);
  CHECK(Completed(metrics, "ads_clone") == 2);
  CHECK(metrics.Count("creatify_jobs", {{"kind", "aurora"}}) == 0);
}
