// The simulator's ground truth against the exporter's counters, for end-to-end tests.
#pragma once

#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "integration/harness.h"

namespace e2e {

inline const std::vector<std::string> kKinds = {"ads_clone", "custom_template", "aurora"};
inline const std::vector<std::string> kTerminal = {"done", "failed", "rejected"};

// Every counter of the exporter equals the simulator's ground truth, for the kinds it polls.
inline void CheckAgainstGroundTruth(const Exporter& exporter, const Simulator& simulator,
                                    const std::vector<std::string>& kinds = kKinds) {
  // Remaining credits are read afresh every cycle: under injected faults the read that follows
  // the last completion may fail, so give it a few cycles to arrive.
  testsupport::WaitFor(
      [&] {
        auto credits = exporter.Metrics().Value("creatify_remaining_credits");
        return credits && *credits == simulator.State()["remaining_credits"].get<double>();
      },
      std::chrono::seconds(20));
  auto state = simulator.State();
  auto metrics = exporter.Metrics();
  for (const auto& kind : kinds) {
    const auto& truth = state["kinds"][kind];
    for (const auto& status : kTerminal) {
      CHECK_MESSAGE(
          metrics.Value("creatify_jobs_completed_total", {{"kind", kind}, {"status", status}}) ==
              truth["completed"][status].get<double>(),
          kind, " ", status);
      CHECK_MESSAGE(metrics.Value("creatify_job_processing_seconds_count",
                                  {{"kind", kind}, {"status", status}}) ==
                        truth["completed"][status].get<double>(),
                    kind, " ", status);
      CHECK_MESSAGE(metrics.Value("creatify_jobs", {{"kind", kind}, {"status", status}}) ==
                        truth["status"][status].get<double>(),
                    kind, " ", status);
    }
    CHECK_MESSAGE(metrics.Value("creatify_credits_used_total", {{"kind", kind}}).value_or(-1) ==
                      doctest::Approx(truth["credits_used"]["total"].get<double>()),
                  kind);
  }
  CHECK(metrics.Value("creatify_remaining_credits").value_or(-1) ==
        doctest::Approx(state["remaining_credits"].get<double>()));
}

inline double Completed(const Exporter& exporter) {
  return exporter.Metrics().Sum("creatify_jobs_completed_total");
}

inline double SimulatorTerminal(const Simulator& simulator) {
  double total = 0;
  auto state = simulator.State();
  for (const auto& kind : kKinds) {
    for (const auto& status : kTerminal)
      total += state["kinds"][kind]["completed"][status].get<double>();
  }
  return total;
}

}  // namespace e2e
