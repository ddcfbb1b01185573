// End-to-end: stopping and readiness while the Creatify API hangs. SIGTERM exits 0 within 5 s
// whatever the API is doing (connecting, or connected and silent), with the state written, and
// /-/ready answers 200 within api.timeout of the start.
#include <doctest/doctest.h>
#include <signal.h>

#include <chrono>
#include <filesystem>
#include <string>

#include "integration/fault_setup.h"

namespace e2e {
namespace {

using testsupport::WaitFor;
using namespace std::chrono_literals;

// Sends SIGTERM and returns how long the exit took; *code is the exit status.
double SecondsToStop(testsupport::Process& process, int* code) {
  const auto start = std::chrono::steady_clock::now();
  *code = process.Stop(SIGTERM, 10s);
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

TEST_CASE("SIGTERM while a request is still connecting exits 0 within 5 s") {
  testsupport::TempDir dir;
  BlackHole hole;
  const std::string state = dir.File("state.db");
  Exporter exporter(dir, WithState(FaultConfig("http://127.0.0.1:" + std::to_string(hole.port()),
                                               {"a1", "a2"}, {"c1"}, "10m"),
                                   state));
  REQUIRE(WaitFor([&] { return hole.SomeoneConnecting(); }, 20s));
  int code = -1;
  const double seconds = SecondsToStop(*exporter.process, &code);
  CHECK(code == 0);
  CHECK(seconds < 5);
  CHECK(std::filesystem::exists(state));
  CHECK(exporter.process->Log().find("msg=Stopped") != std::string::npos);
}

TEST_CASE("SIGTERM while the API accepts and never answers exits 0 within 5 s") {
  testsupport::TempDir dir;
  Simulator simulator(dir, FaultSimulatorFlags());
  REQUIRE(simulator.SetFault("mode=hang"));
  const std::string state = dir.File("state.db");
  Exporter exporter(dir, WithState(FaultConfig("http://127.0.0.1:" + std::to_string(simulator.port),
                                               simulator.Ids("ads_clone"),
                                               simulator.Ids("custom_template"), "10m"),
                                   state));
  REQUIRE(WaitFor([&] { return !simulator.FaultHits().empty(); }, 20s));
  int code = -1;
  const double seconds = SecondsToStop(*exporter.process, &code);
  CHECK(code == 0);
  CHECK(seconds < 5);
  CHECK(std::filesystem::exists(state));
}

TEST_CASE("SIGTERM between polls and in the middle of a slow answer exits 0 within 5 s") {
  // Answers take 1.5 s: a stop lands in the middle of one, or between two cycles, or just as a
  // request starts; none may wait for api.timeout.
  for (int round = 0; round < 3; ++round) {
    CAPTURE(round);
    testsupport::TempDir dir;
    Simulator simulator(dir, FaultSimulatorFlags());
    REQUIRE(simulator.SetFault("mode=hang&delay_ms=1500"));
    Exporter exporter(
        dir, FaultConfig("http://127.0.0.1:" + std::to_string(simulator.port),
                         simulator.Ids("ads_clone"), simulator.Ids("custom_template"), "10m"));
    REQUIRE(
        WaitFor([&] { return simulator.FaultHits().size() > static_cast<size_t>(round); }, 20s));
    int code = -1;
    const double seconds = SecondsToStop(*exporter.process, &code);
    CHECK(code == 0);
    CHECK(seconds < 5);
  }
}

TEST_CASE("/-/ready answers 200 within api.timeout of the start while the API hangs") {
  testsupport::TempDir dir;
  Simulator simulator(dir, FaultSimulatorFlags());
  REQUIRE(simulator.SetFault("mode=hang"));
  // Enough jobs for several requests per worker: a cycle would take two timeouts or more.
  const auto start = std::chrono::steady_clock::now();
  Exporter exporter(
      dir, FaultConfig("http://127.0.0.1:" + std::to_string(simulator.port),
                       simulator.Ids("ads_clone"), simulator.Ids("custom_template"), "2s"));
  CHECK(testsupport::HttpGet(exporter.port, "/-/ready").status == 503);
  REQUIRE(
      WaitFor([&] { return testsupport::HttpGet(exporter.port, "/-/ready").status == 200; }, 20s));
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  // 2 s of api.timeout, and the process's own start.
  CHECK(seconds < 3.5);
  CHECK(exporter.Metrics().Value("creatify_up") == 0);
  int code = -1;
  CHECK(SecondsToStop(*exporter.process, &code) < 5);
  CHECK(code == 0);
}

}  // namespace
}  // namespace e2e
