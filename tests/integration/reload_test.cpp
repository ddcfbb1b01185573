// Reloads change what is watched, never when the API is asked: the real exporter and simulator,
// with reloads by POST /-/reload during a 429's wait and between two polls.
#include <doctest/doctest.h>

#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "integration/fault_setup.h"
#include "integration/harness.h"

namespace {

using namespace std::chrono_literals;
using testsupport::WaitFor;

// Five POST /-/reload at once; the statuses they got.
std::vector<int> ReloadFiveTimesAtOnce(int port) {
  std::vector<int> statuses(5);
  std::vector<std::thread> threads;
  for (size_t i = 0; i < statuses.size(); ++i) {
    threads.emplace_back([&, i] { statuses[i] = testsupport::HttpPost(port, "/-/reload").status; });
  }
  for (auto& thread : threads) thread.join();
  return statuses;
}

// The window in which a request that should not come would have come: without the schedule, a
// new poller polls at once, and the interval of these configs is 200 ms. Showing that nothing
// comes takes waiting this long; every wait for something that must come is on a condition.
constexpr auto kQuietWindow = 2s;

}  // namespace

TEST_CASE("reloads during a 429 with Retry-After 600 answer 200 and ask the API nothing") {
  e2e::FaultSetup setup;
  REQUIRE(setup.WaitAllPending());
  REQUIRE(setup.simulator.SetFault("mode=status&status=429&retry_after=600"));
  // The cycle that met the 429 has ended once creatify_up says so.
  REQUIRE(WaitFor(
      [&] { return setup.Requests("429") > 0 && setup.Metrics().Value("creatify_up") == 0; }, 30s));
  const size_t hits = setup.simulator.FaultHits().size();
  REQUIRE(hits > 0);
  const int loads_before =
      e2e::Occurrences(setup.exporter.process->Log(), "Reloaded the configuration");

  for (int status : ReloadFiveTimesAtOnce(setup.exporter.port)) CHECK(status == 200);
  CHECK_FALSE(WaitFor([&] { return setup.simulator.FaultHits().size() > hits; }, kQuietWindow));
  CHECK(setup.simulator.FaultHits().size() == hits);

  const auto metrics = setup.Metrics();
  CHECK(metrics.Value("creatify_exporter_config_last_reload_successful") == 1);
  CHECK(metrics.Value("creatify_up") == 0);
  // Each POST was answered by a reload that started after it arrived; overlapping ones shared
  // one: the first, and at most one more for those that arrived while it ran (the server's two
  // POST handler threads take the POSTs in turns, which does not make more reloads).
  const int loads =
      e2e::Occurrences(setup.exporter.process->Log(), "Reloaded the configuration") - loads_before;
  CHECK(loads >= 1);
  CHECK(loads <= 2);
}

TEST_CASE("reloads between two polls start no poll before the poll interval ends") {
  testsupport::TempDir dir;
  e2e::Simulator simulator(dir, e2e::FaultSimulatorFlags());
  // An interval far longer than the test: only the first cycle may ask the API.
  std::string config =
      e2e::FaultConfig("http://127.0.0.1:" + std::to_string(simulator.port),
                       simulator.Ids("ads_clone"), simulator.Ids("custom_template"));
  const auto interval = config.find("poll_interval: 200ms");
  REQUIRE(interval != std::string::npos);
  config.replace(interval, std::string("poll_interval: 200ms").size(), "poll_interval: 1h");
  e2e::Exporter exporter(dir, config);
  REQUIRE(WaitFor([&] { return exporter.Metrics().Value("creatify_up") == 1; }, 30s));
  const auto requests = [&] { return simulator.State()["requests"]["total"].get<long>(); };
  const long before = requests();
  REQUIRE(before > 0);

  for (int status : ReloadFiveTimesAtOnce(exporter.port)) CHECK(status == 200);
  CHECK_FALSE(WaitFor([&] { return requests() > before; }, kQuietWindow));
  CHECK(requests() == before);
  CHECK(exporter.Metrics().Value("creatify_exporter_config_last_reload_successful") == 1);
}
