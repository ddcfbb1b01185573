// Every job kind against the simulator, each in its own JSON shape, status words and progress
// scale: the new built-in kinds turned on by their sections, and custom_kinds declared in the
// config for kinds the simulator is told to serve.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "integration/ground_truth.h"
#include "integration/harness.h"

using e2e::Exporter;
using e2e::Simulator;
using testsupport::WaitFor;

namespace {

// The kinds added to the three original ones, by label, and their config sections.
const std::vector<std::pair<std::string, std::string>> kNewKinds = {
    {"lipsync", "lipsyncs"},
    {"lipsync_v2", "lipsyncs_v2"},
    {"ai_short", "ai_shorts"},
    {"ai_editing", "ai_editing"},
    {"link_to_video", "link_to_videos"},
    {"text_to_speech", "text_to_speech"},
    {"product_to_video", "product_to_videos"},
};

double TerminalJobs(const Simulator& simulator, const std::vector<std::string>& kinds) {
  double total = 0;
  auto state = simulator.State();
  for (const auto& kind : kinds) {
    for (const auto& status : e2e::kTerminal) {
      total += state["kinds"][kind]["completed"][status].get<double>();
    }
  }
  return total;
}

std::string IdList(const std::vector<std::string>& ids) {
  std::string out = "[";
  for (const auto& id : ids) out += (out.size() > 1 ? ", \"" : "\"") + id + "\"";
  return out + "]";
}

// Each finished job of `kind` shows the progress its simulator sent, read on the kind's scale: 1
// when done; for a failed or rejected job the point it stopped at, which the simulator draws from
// 0.1 to 0.9 (a percentage read as a fraction would show 1, a fraction read as a percentage
// 0.009 at most). A kind without progress has no progress series.
void CheckProgress(const testsupport::Exposition& metrics, const Simulator& simulator,
                   const std::string& kind, bool has_progress) {
  for (const auto& id : simulator.Ids(kind)) {
    CAPTURE(kind);
    CAPTURE(id);
    auto progress = metrics.Value("creatify_job_progress_ratio", {{"kind", kind}, {"job_id", id}});
    if (!has_progress) {
      CHECK_FALSE(progress.has_value());
      continue;
    }
    REQUIRE(progress.has_value());
    if (metrics.Value("creatify_job_status",
                      {{"kind", kind}, {"job_id", id}, {"status", "done"}}) == 1) {
      CHECK(*progress == 1.0);
    } else {
      CHECK(*progress >= 0.1 - 1e-9);
      CHECK(*progress <= 0.9 + 1e-9);
    }
  }
}

}  // namespace

TEST_CASE("every new built-in kind: statuses mapped, progress on its scale, ground truth") {
  testsupport::TempDir dir;
  std::vector<std::string> flags = {"--hold",
                                    "--seed=21",
                                    "--ads-clone-jobs=0",
                                    "--custom-template-jobs=0",
                                    "--aurora-jobs=0",
                                    "--stage-duration=400ms",
                                    "--failure-ratio=0.3",
                                    "--rejection-ratio=0.1",
                                    "--spawn-interval=ai_short=150ms",
                                    "--max-jobs=8"};
  for (const auto& [kind, section] : kNewKinds) flags.push_back("--jobs=" + kind + "=4");
  Simulator simulator(dir, flags);
  REQUIRE(simulator.port > 0);

  // Two list kinds are given ids (read by ?ids=), the others discover their jobs by listing.
  std::string config = "api:\n  base_url: http://127.0.0.1:" + std::to_string(simulator.port) +
                       "\n  max_concurrency: 4\npoll_interval: 200ms\n";
  for (const auto& [kind, section] : kNewKinds) {
    config += section + ":\n";
    if (kind == "lipsync" || kind == "product_to_video") {
      config += "  ids: " + IdList(simulator.Ids(kind)) + "\n";
    }
  }
  Exporter exporter(dir, config);
  REQUIRE(exporter.port > 0);
  INFO("exporter log:\n", exporter.process->Log());
  INFO("config:\n", config);

  std::vector<std::string> kinds;
  for (const auto& [kind, section] : kNewKinds) kinds.push_back(kind);
  REQUIRE(WaitFor(
      [&] {
        auto m = exporter.Metrics();
        return m.Sum("creatify_jobs", {{"status", "pending"}}) == 28 && m.Value("creatify_up") == 1;
      },
      std::chrono::seconds(20)));
  // product_to_videos' "initializing" is pending like the standard word: nothing is unknown.
  CHECK(exporter.Metrics().Sum("creatify_jobs", {{"status", "unknown"}}) == 0);

  REQUIRE(simulator.Release());
  REQUIRE(WaitFor(
      [&] {
        return exporter.Metrics().Value("creatify_jobs",
                                        {{"kind", "product_to_video"}, {"status", "running"}}) > 0;
      },
      std::chrono::seconds(20)));
  // Four ai_short jobs are created after the release.
  REQUIRE(WaitFor([&] { return simulator.Ids("ai_short").size() == 8; }, std::chrono::seconds(20)));
  REQUIRE(WaitFor([&] { return TerminalJobs(simulator, kinds) == 32; }, std::chrono::seconds(40)));
  REQUIRE(WaitFor([&] { return e2e::Completed(exporter) == 32; }, std::chrono::seconds(20)));
  e2e::CheckAgainstGroundTruth(exporter, simulator, kinds);

  auto metrics = exporter.Metrics();
  CHECK(metrics.Sum("creatify_jobs", {{"status", "unknown"}}) == 0);
  CHECK(metrics.Sum("creatify_jobs_completed_total", {{"status", "unknown"}}) == 0);
  // product_to_videos has no rejected: its rejections are failures.
  CHECK(metrics.Value("creatify_jobs_completed_total",
                      {{"kind", "product_to_video"}, {"status", "rejected"}}) == 0);
  for (const auto& kind : kinds) {
    const bool has_progress = kind != "text_to_speech" && kind != "product_to_video";
    CheckProgress(metrics, simulator, kind, has_progress);
    for (const auto& id : simulator.Ids(kind)) {
      CHECK(metrics.Count("creatify_job_info", {{"kind", kind}, {"job_id", id}}) == 1);
    }
  }
  // The info labels each row names.
  auto id = simulator.Ids("product_to_video")[0];
  CHECK(
      metrics.Count("creatify_job_info",
                    {{"kind", "product_to_video"}, {"job_id", id}, {"aspect_ratio", "9x16"}}) +
          metrics.Count("creatify_job_info",
                        {{"kind", "product_to_video"}, {"job_id", id}, {"aspect_ratio", "16x9"}}) +
          metrics.Count("creatify_job_info",
                        {{"kind", "product_to_video"}, {"job_id", id}, {"aspect_ratio", "1x1"}}) ==
      1);
  for (const auto& sample : metrics.samples) {
    if (sample.name == "creatify_job_info" && sample.labels.at("kind") == "ai_editing") {
      CHECK(sample.labels.count("editing_style") == 1);
    }
    if (sample.name == "creatify_job_info" && sample.labels.at("kind") == "product_to_video") {
      CHECK(sample.labels.count("type") == 1);
    }
  }
  // Kinds given ids are read in ?ids= batches, never one by one.
  auto requests = simulator.State()["requests"]["by_endpoint_code"];
  CHECK(requests["lipsync"]["200"].get<double>() > 0);
}

TEST_CASE("custom_kinds: a kind the exporter does not know, declared in the config") {
  testsupport::TempDir dir;
  Simulator simulator(dir, {"--hold", "--seed=23", "--ads-clone-jobs=0", "--custom-template-jobs=0",
                            "--aurora-jobs=0", "--stage-duration=300ms", "--failure-ratio=0.3",
                            "--rejection-ratio=0.2",
                            "--custom-kind=video_translation:video_translations:list:percent",
                            "--custom-kind=dubbing:/api/v2/dubbings/:single:fraction",
                            "--jobs=video_translation=6", "--jobs=dubbing=4"});
  REQUIRE(simulator.port > 0);
  const std::string statuses =
      "    statuses:\n"
      "      created: pending\n"
      "      waiting: in_queue\n"
      "      processing: running\n"
      "      error: failed\n"
      "      completed: done\n"
      "      refused: rejected\n";
  std::string config =
      "api:\n  base_url: http://127.0.0.1:" + std::to_string(simulator.port) +
      "\npoll_interval: 200ms\ncustom_kinds:\n"
      "  - name: video_translation\n"
      "    path: video_translations\n"
      "    list: true\n" +
      statuses +
      "    progress_scale: percent\n"
      "    info_fields: [name]\n"
      "  - name: dubbing\n"
      "    path: /api/v2/dubbings/\n" +
      statuses + "    progress_scale: fraction\n    ids: " + IdList(simulator.Ids("dubbing")) +
      "\n";
  Exporter exporter(dir, config);
  REQUIRE(exporter.port > 0);
  INFO("exporter log:\n", exporter.process->Log());
  INFO("config:\n", config);

  REQUIRE(WaitFor(
      [&] {
        auto m = exporter.Metrics();
        return m.Sum("creatify_jobs", {{"status", "pending"}}) == 10 && m.Value("creatify_up") == 1;
      },
      std::chrono::seconds(20)));
  REQUIRE(simulator.Release());
  const std::vector<std::string> kinds = {"video_translation", "dubbing"};
  REQUIRE(WaitFor([&] { return TerminalJobs(simulator, kinds) == 10; }, std::chrono::seconds(30)));
  REQUIRE(WaitFor([&] { return e2e::Completed(exporter) == 10; }, std::chrono::seconds(20)));
  e2e::CheckAgainstGroundTruth(exporter, simulator, kinds);

  auto metrics = exporter.Metrics();
  CHECK(metrics.Sum("creatify_jobs", {{"status", "unknown"}}) == 0);
  CheckProgress(metrics, simulator, "video_translation", true);
  CheckProgress(metrics, simulator, "dubbing", true);
  // The custom kinds render after the built-in ones, in config order.
  std::vector<std::string> order;
  for (const auto& sample : metrics.samples) {
    if (sample.name == "creatify_jobs" && sample.labels.at("status") == "done") {
      order.push_back(sample.labels.at("kind"));
    }
  }
  CHECK(order == std::vector<std::string>{"ads_clone", "custom_template", "aurora",
                                          "video_translation", "dubbing"});
  // info_fields: the name, where the job has one.
  int named = 0;
  for (const auto& sample : metrics.samples) {
    if (sample.name == "creatify_job_info" && sample.labels.at("kind") == "video_translation") {
      named += static_cast<int>(sample.labels.count("name"));
    }
  }
  CHECK(named > 0);
}
