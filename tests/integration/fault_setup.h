// A simulator and an exporter polling it fast with short timeouts, for the end-to-end fault
// and lifecycle tests: a fault costs a few hundred milliseconds, not the default 10 s.
#pragma once

#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "integration/ground_truth.h"
#include "integration/harness.h"
#include "support/black_hole.h"

namespace e2e {

using testsupport::BlackHole;

// Three jobs of each kind, held pending until Release, each stage 200 ms.
inline constexpr int kFaultJobs = 9;

inline std::vector<std::string> FaultSimulatorFlags(std::vector<std::string> extra = {}) {
  std::vector<std::string> flags = {"--hold",
                                    "--seed=21",
                                    "--ads-clone-jobs=3",
                                    "--custom-template-jobs=3",
                                    "--aurora-jobs=3",
                                    "--stage-duration=200ms"};
  flags.insert(flags.end(), extra.begin(), extra.end());
  return flags;
}

inline std::string IdList(const std::vector<std::string>& ids) {
  std::string out = "[";
  for (const auto& id : ids) out += (out.size() > 1 ? ", \"" : "\"") + id + "\"";
  return out + "]";
}

// `api` lines go into the api section (indented by two spaces).
inline std::string FaultConfig(const std::string& base_url, const std::vector<std::string>& ads,
                               const std::vector<std::string>& custom,
                               const std::string& timeout = "500ms", const std::string& api = "") {
  return "api:\n  base_url: " + base_url + "\n  timeout: " + timeout +
         "\n  max_concurrency: 4\n  max_body_bytes: 1048576\n" + api +
         "poll_interval: 200ms\nads_clone:\n  ids: " + IdList(ads) +
         "\ncustom_template_jobs:\n  ids: " + IdList(custom) + "\naurora:\n  enabled: true\n";
}

struct FaultSetup {
  testsupport::TempDir dir;
  Simulator simulator;
  Exporter exporter;

  explicit FaultSetup(std::vector<std::string> simulator_flags = {},
                      const std::string& timeout = "500ms", const std::string& api = "")
      : simulator(dir, FaultSimulatorFlags(std::move(simulator_flags))),
        exporter(dir, FaultConfig("http://127.0.0.1:" + std::to_string(simulator.port),
                                  simulator.Ids("ads_clone"), simulator.Ids("custom_template"),
                                  timeout, api)) {}

  testsupport::Exposition Metrics() const { return exporter.Metrics(); }

  double Requests(const std::string& code) const {
    return Metrics().Sum("creatify_exporter_api_requests_total", {{"code", code}});
  }

  // Every job seen pending, with creatify_up 1.
  bool WaitAllPending() const {
    return testsupport::WaitFor(
        [&] {
          auto m = Metrics();
          return m.Sum("creatify_jobs", {{"status", "pending"}}) == kFaultJobs &&
                 m.Value("creatify_up") == 1;
        },
        std::chrono::seconds(30));
  }
};

// How many times `needle` occurs in `text`.
inline int Occurrences(const std::string& text, const std::string& needle) {
  int count = 0;
  for (auto pos = text.find(needle); pos != std::string::npos; pos = text.find(needle, pos + 1)) {
    ++count;
  }
  return count;
}

}  // namespace e2e
