// End-to-end: each way the Creatify API can misbehave, switched on in the simulator while the
// exporter runs. The exporter keeps running and serving the last known data, reports
// creatify_up 0 and counts the fault under its `code` while it lasts, recovers by itself when
// it ends, and loses no count. Each case is a row of RELIABILITY.md.
#include <doctest/doctest.h>

#include <cmath>
#include <string>

#include "integration/fault_setup.h"

namespace e2e {
namespace {

using testsupport::WaitFor;
using namespace std::chrono_literals;

// The whole story of one fault: jobs seen pending; the fault on; the jobs finish at the API
// while it lasts; the fault off; every completion counted once, as the simulator says.
void CheckFaultSurvived(const std::string& fault, const std::string& code,
                        const std::string& body = "") {
  CAPTURE(fault);
  FaultSetup setup;
  REQUIRE(setup.WaitAllPending());
  const auto before = setup.Metrics();

  REQUIRE(setup.simulator.SetFault(fault, body));
  REQUIRE(setup.simulator.Release());
  REQUIRE(WaitFor(
      [&] {
        auto m = setup.Metrics();
        return m.Sum("creatify_exporter_api_requests_total", {{"code", code}}) > 0 &&
               m.Value("creatify_up") == 0;
      },
      20s));
  REQUIRE(WaitFor([&] { return SimulatorTerminal(setup.simulator) == kFaultJobs; }, 20s));

  // The jobs have all finished at the API, but the exporter could not see it: it still serves
  // what it last knew, and says it is not up to date.
  const auto during = setup.Metrics();
  CHECK(setup.exporter.process->Poll() == std::nullopt);
  CHECK(during.Value("creatify_up") == 0);
  CHECK(during.Sum("creatify_jobs", {{"status", "pending"}}) == kFaultJobs);
  CHECK(during.Sum("creatify_jobs_completed_total") == 0);
  CHECK(during.Value("creatify_remaining_credits") == before.Value("creatify_remaining_credits"));
  CHECK(during.Count("creatify_job_status") == before.Count("creatify_job_status"));
  CHECK(during.Sum("creatify_exporter_api_requests_total", {{"code", code}}) > 0);

  REQUIRE(setup.simulator.SetFault("mode=none"));
  REQUIRE(WaitFor(
      [&] {
        auto m = setup.Metrics();
        return m.Sum("creatify_jobs_completed_total") == kFaultJobs && m.Value("creatify_up") == 1;
      },
      20s));
  CheckAgainstGroundTruth(setup.exporter, setup.simulator);
  CHECK(setup.exporter.process->Poll() == std::nullopt);
  // Logged once when it started and once when it ended, per request target: never per attempt.
  const std::string log = setup.exporter.process->Log();
  CHECK(Occurrences(log, "Creatify API request failed") <= 20);
  CHECK(Occurrences(log, "Creatify API answers again") >= 1);
}

TEST_CASE("API fault: 500 Internal Server Error") {
  CheckFaultSurvived("mode=status&status=500", "500");
}

TEST_CASE("API fault: 503 with Retry-After") {
  CheckFaultSurvived("mode=status&status=503&retry_after=1", "503");
}

TEST_CASE("API fault: 429 with Retry-After") {
  CheckFaultSurvived("mode=status&status=429&retry_after=1", "429");
}

TEST_CASE("API fault: 429 without Retry-After") {
  CheckFaultSurvived("mode=status&status=429", "429");
}

TEST_CASE("API fault: read timeout (the API accepts and never answers)") {
  CheckFaultSurvived("mode=hang", "timeout");
}

TEST_CASE("API fault: the API answers slower than api.timeout") {
  CheckFaultSurvived("mode=hang&delay_ms=1500", "timeout");
}

TEST_CASE("API fault: the connection closes mid-body") { CheckFaultSurvived("mode=reset", "read"); }

TEST_CASE("API fault: 200 with an HTML body") {
  CheckFaultSurvived("mode=body&content_type=text/html", "parse",
                     "<html><body><h1>502 Bad Gateway</h1></body></html>");
}

TEST_CASE("API fault: truncated JSON") { CheckFaultSurvived("mode=truncate", "parse"); }

TEST_CASE("API fault: malformed JSON") {
  CheckFaultSurvived("mode=body", "parse", R"({"id": "x", "status": "done",, NaN})");
}

TEST_CASE("API fault: JSON nested 100,000 deep") {
  CheckFaultSurvived("mode=body", "parse", std::string(100000, '[') + std::string(100000, ']'));
}

TEST_CASE("API fault: a body without end, refused at api.max_body_bytes") {
  CheckFaultSurvived("mode=endless", "error");
}

TEST_CASE("API fault: a Content-Length of a terabyte, refused before the body is read") {
  CheckFaultSurvived("mode=oversize", "error");
}

TEST_CASE("API fault: 401 and 403 are logged once per change, with no hot retry loop") {
  for (const std::string status : {"401", "403"}) {
    CAPTURE(status);
    FaultSetup setup;
    REQUIRE(setup.WaitAllPending());
    REQUIRE(setup.simulator.SetFault("mode=status&status=" + status));
    const double cycles_before =
        setup.Metrics().Value("creatify_exporter_poll_duration_seconds_count").value_or(0);
    // Ten cycles refused.
    REQUIRE(WaitFor(
        [&] {
          return setup.Metrics()
                     .Value("creatify_exporter_poll_duration_seconds_count")
                     .value_or(0) >= cycles_before + 10;
        },
        20s));
    const auto m = setup.Metrics();
    CHECK(m.Value("creatify_up") == 0);
    const double cycles =
        m.Value("creatify_exporter_poll_duration_seconds_count").value_or(0) - cycles_before;
    const double refused = m.Sum("creatify_exporter_api_requests_total", {{"code", status}});
    // A refusal ends the cycle: at most one request per worker, never one per job.
    CHECK(refused >= cycles - 1);
    CHECK(refused <= (cycles + 1) * 4);
    // One line per request target when it started failing, not one per attempt.
    const std::string log = setup.exporter.process->Log();
    CHECK(Occurrences(log, "code=" + status) >= 1);
    CHECK(Occurrences(log, "code=" + status) <= 5);
    CHECK(log.find("demo-key") == std::string::npos);
    REQUIRE(setup.simulator.SetFault("mode=none"));
    REQUIRE(WaitFor([&] { return setup.Metrics().Value("creatify_up") == 1; }, 20s));
  }
}

TEST_CASE("API fault: 429 with Retry-After: no request before the time it names") {
  FaultSetup setup({}, "500ms", "");
  REQUIRE(setup.WaitAllPending());
  REQUIRE(setup.simulator.SetFault("mode=status&status=429&retry_after=1"));
  REQUIRE(WaitFor([&] { return setup.simulator.FaultHits().size() >= 12; }, 30s));
  // Requests come in bursts (one cycle's workers, at most 4, answered 429 together); between two
  // bursts the exporter waits the full second.
  const std::vector<long> hits = setup.simulator.FaultHits();
  int bursts = 1;
  for (size_t i = 1; i < hits.size(); ++i) {
    const long gap = hits[i] - hits[i - 1];
    CAPTURE(gap);
    if (gap > 150) {
      ++bursts;
      CHECK(gap >= 1000);
    }
  }
  CHECK(bursts >= 3);
  CHECK(setup.Metrics().Value("creatify_up") == 0);
}

TEST_CASE("API fault: 429 without Retry-After: exponential backoff with jitter") {
  FaultSetup setup;
  REQUIRE(setup.WaitAllPending());
  REQUIRE(setup.simulator.SetFault("mode=status&status=429"));
  // Bursts (cycles) start at gaps of at least 200ms * 2^(k-1) for the k-th wait: 200, 400, 800.
  std::vector<long> starts;
  REQUIRE(WaitFor(
      [&] {
        const std::vector<long> hits = setup.simulator.FaultHits();
        starts.clear();
        for (size_t i = 0; i < hits.size(); ++i) {
          if (i == 0 || hits[i] - hits[i - 1] > 150) starts.push_back(hits[i]);
        }
        return starts.size() >= 5;
      },
      30s));
  for (size_t k = 1; k < starts.size(); ++k) {
    CAPTURE(k);
    CAPTURE(starts[k] - starts[k - 1]);
    CHECK(starts[k] - starts[k - 1] >= 200L << (k - 1));
  }
}

TEST_CASE("API fault: 404 for a configured job is counted, logged once, not an outage") {
  FaultSetup setup;
  REQUIRE(setup.WaitAllPending());
  const std::string id = setup.simulator.Ids("ads_clone").front();
  REQUIRE(setup.simulator.SetFault("mode=status&status=404&path=/api/ads_clone/" + id + "/"));
  REQUIRE(WaitFor(
      [&] {
        return setup.Metrics().Value("creatify_exporter_jobs_dropped_total",
                                     {{"kind", "ads_clone"}, {"reason", "not_found"}}) == 1;
      },
      20s));
  const auto m = setup.Metrics();
  CHECK(m.Sum("creatify_exporter_api_requests_total", {{"code", "404"}}) >= 3);
  CHECK(m.Value("creatify_up") == 1);
  CHECK(Occurrences(setup.exporter.process->Log(), "Job not found") == 1);
  CHECK(setup.exporter.process->Poll() == std::nullopt);
}

TEST_CASE("API fault: connection refused") {
  testsupport::TempDir dir;
  // A port that was bound and closed: nothing listens there.
  int port = 0;
  {
    BlackHole closed;
    port = closed.port();
  }
  Exporter exporter(dir, FaultConfig("http://127.0.0.1:" + std::to_string(port), {"a1"}, {}));
  REQUIRE(WaitFor(
      [&] {
        return exporter.Metrics().Sum("creatify_exporter_api_requests_total",
                                      {{"code", "connect"}}) > 0;
      },
      20s));
  CHECK(exporter.Metrics().Value("creatify_up") == 0);
  CHECK(testsupport::HttpGet(exporter.port, "/-/ready").status == 200);
  CHECK(exporter.process->Poll() == std::nullopt);
}

TEST_CASE("API fault: connect timeout (the SYNs are dropped)") {
  testsupport::TempDir dir;
  BlackHole hole;
  Exporter exporter(
      dir, FaultConfig("http://127.0.0.1:" + std::to_string(hole.port()), {"a1"}, {}, "300ms"));
  REQUIRE(WaitFor(
      [&] {
        return exporter.Metrics().Sum("creatify_exporter_api_requests_total",
                                      {{"code", "timeout"}}) >= 2;
      },
      20s));
  CHECK(exporter.Metrics().Value("creatify_up") == 0);
  CHECK(exporter.process->Poll() == std::nullopt);
}

// Hostile values in an otherwise good answer: the exposition stays one Prometheus accepts, no
// counter becomes infinite, and each bad field is counted and skipped.
TEST_CASE("API fault: NaN, negative, huge and string numbers, odd statuses and timestamps") {
  FaultSetup setup;
  REQUIRE(setup.WaitAllPending());
  const auto ads = setup.simulator.Ids("ads_clone");
  const auto aurora = setup.simulator.Ids("aurora");
  REQUIRE(ads.size() == 3);
  REQUIRE(aurora.size() == 3);
  // Two ads_clone jobs done with the largest double as credits and duration.
  for (int i = 0; i < 2; ++i) {
    REQUIRE(setup.simulator.SetFault(
        "mode=body&path=/api/ads_clone/" + ads[i] + "/",
        R"({"id": ")" + ads[i] +
            R"(", "status": "done", "progress": "NaN", "credits_used": 1.7976931348623157e308,
             "duration": 1.7976931348623157e308, "created_at": "2023-11-07 05:31:56 +0000",
             "updated_at": "9999-12-31T23:59:59Z"})"));
    REQUIRE(WaitFor(
        [&] {
          return setup.Metrics().Value(
                     "creatify_job_status",
                     {{"kind", "ads_clone"}, {"job_id", ads[i]}, {"status", "done"}}) == 1;
        },
        20s));
  }
  // The aurora listing: a duplicate id, an unknown status, negative and string numbers,
  // timestamps in other formats or missing.
  const std::string listing = R"([
    {"id": ")" + aurora[0] + R"(", "status": "done", "credits_used": -5, "duration": "12.5",
     "progress": 1e308, "created_at": 1699335116},
    {"id": ")" + aurora[0] + R"(", "status": "running"},
    {"id": ")" + aurora[1] + R"(", "status": "warming_up", "credits_used": "lots",
     "created_at": "07/11/2023"},
    {"id": ")" + aurora[2] + R"(", "status": "done", "credits_used": "1e300"}
  ])";
  REQUIRE(setup.simulator.SetFault("mode=body&path=/api/aurora/", listing));
  REQUIRE(WaitFor(
      [&] {
        return setup.Metrics().Value("creatify_exporter_invalid_items_total",
                                     {{"kind", "aurora"}}) >= 1;
      },
      20s));
  REQUIRE(WaitFor(
      [&] {
        return setup.Metrics().Value(
                   "creatify_job_status",
                   {{"kind", "aurora"}, {"job_id", aurora[2]}, {"status", "done"}}) == 1;
      },
      20s));

  const std::string text = setup.exporter.MetricsText();
  const auto m = testsupport::ParseExposition(text);
  for (const auto& sample : m.samples) {
    CAPTURE(sample.name);
    CHECK(std::isfinite(sample.value));
  }
  // Histogram buckets say le="+Inf"; no value may.
  CHECK(text.find(" +Inf") == std::string::npos);
  CHECK(text.find(" NaN") == std::string::npos);
  CHECK(m.Value("creatify_jobs_completed_total", {{"kind", "ads_clone"}, {"status", "done"}}) == 2);
  CHECK(m.Value("creatify_credits_used_total", {{"kind", "ads_clone"}}).value_or(-1) == 0);
  CHECK(m.Value("creatify_credits_used_total", {{"kind", "aurora"}}).value_or(-1) == 0);
  CHECK(m.Value("creatify_exporter_invalid_fields_total",
                {{"kind", "ads_clone"}, {"field", "credits_used"}})
            .value_or(0) >= 2);
  CHECK(m.Value("creatify_exporter_invalid_fields_total",
                {{"kind", "ads_clone"}, {"field", "duration"}})
            .value_or(0) >= 2);
  CHECK(m.Value("creatify_exporter_invalid_fields_total",
                {{"kind", "aurora"}, {"field", "created_at"}})
            .value_or(0) >= 1);
  // The job whose first item was read stays as that item said.
  CHECK(m.Value("creatify_job_status",
                {{"kind", "aurora"}, {"job_id", aurora[0]}, {"status", "done"}}) == 1);
  CHECK(m.Value("creatify_job_status",
                {{"kind", "aurora"}, {"job_id", aurora[1]}, {"status", "unknown"}}) == 1);

  testsupport::WriteFile(setup.dir.File("hostile.prom"), text);
  std::string output;
  const int rc = testsupport::RunCommand(
      "promtool check metrics < " + setup.dir.File("hostile.prom"), &output);
  if (rc != 127) CHECK_MESSAGE(rc == 0, output);
  CHECK(setup.exporter.process->Poll() == std::nullopt);
}

// TLS: a simulator serving HTTPS with the test certificates of tests/testdata/api_tls.
std::string Tls(const std::string& name) {
  return std::string(CREATIFY_SOURCE_DIR) + "/tests/testdata/api_tls/" + name;
}

struct TlsCase {
  std::string cert;
  std::string ca_file;  // empty: the system's CAs
  std::string code;     // the expected code of every request
};

void CheckTls(const TlsCase& c) {
  CAPTURE(c.cert);
  testsupport::TempDir dir;
  Simulator simulator(
      dir, {"--seed=3", "--ads-clone-jobs=0", "--custom-template-jobs=0", "--aurora-jobs=2",
            "--stage-duration=1h", "--tls-cert-file=" + Tls(c.cert + ".pem"),
            "--tls-key-file=" + Tls(c.cert + ".key")});
  const std::string api = c.ca_file.empty() ? "" : "  ca_file: " + Tls(c.ca_file) + "\n";
  Exporter exporter(
      dir, FaultConfig("https://127.0.0.1:" + std::to_string(simulator.port), {}, {}, "2s", api));
  REQUIRE(WaitFor(
      [&] {
        return exporter.Metrics().Sum("creatify_exporter_api_requests_total", {{"code", c.code}}) >
               0;
      },
      20s));
  const auto m = exporter.Metrics();
  CHECK(m.Value("creatify_up") == (c.code == "200" ? 1 : 0));
  if (c.code == "200") {
    CHECK(m.Sum("creatify_jobs", {{"kind", "aurora"}}) == 2);
  } else {
    CHECK(m.Sum("creatify_exporter_api_requests_total", {{"code", "200"}}) == 0);
  }
  CHECK(exporter.process->Poll() == std::nullopt);
}

TEST_CASE("API TLS: a certificate signed by api.ca_file is trusted") {
  CheckTls({"server", "ca.pem", "200"});
}

TEST_CASE("API TLS: a self-signed certificate without a CA fails") {
  CheckTls({"self_signed", "", "tls"});
  CheckTls({"self_signed", "ca.pem", "tls"});
}

TEST_CASE("API TLS: a certificate for another host fails") {
  CheckTls({"wrong_host", "ca.pem", "tls"});
}

}  // namespace
}  // namespace e2e
