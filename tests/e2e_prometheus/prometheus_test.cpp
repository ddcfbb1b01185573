// A real Prometheus scrapes the real exporter, which polls the real simulator. The shipped rules
// (deploy/prometheus/rules.yaml) must load and evaluate without error, every expression of the
// rules and of the shipped dashboard (grafana/dashboards/creatify-overview.json) must evaluate
// through the query API, every dashboard query must return data once jobs have moved, and no
// alert about the exporter's health may even be pending.
#include <arpa/inet.h>
#include <doctest/doctest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <filesystem>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "deploy/prometheus/promql_exprs.h"
#include "integration/harness.h"

using e2e::Exporter;
using e2e::Simulator;
using testsupport::WaitFor;
using Json = nlohmann::json;

namespace {

// Dashboard queries allowed to return nothing (no sample, or NaN only) in this setup, keyed "<panel
// title> / <refId>", each with the reason. Empty: the simulator keeps spawning jobs so that even
// the "Active jobs" table has rows. An entry here must name a query the dashboard still has.
const std::map<std::string, std::string> kMayBeEmpty = {};

const std::string kUp = "up{job=\"creatify-exporter\"}";

// Alerts that must stay inactive (not even pending) while the exporter is scraped, the API
// answers with good credentials and without faults, and jobs finish in seconds.
const std::set<std::string> kQuietWhenHealthy = {
    "CreatifyExporterDown",
    "CreatifyExporterAbsent",
    "CreatifyApiDown",
    "CreatifyApiCredentialsRejected",
    "CreatifyApiRateLimited",
    "CreatifyDataStale",
    "CreatifyJobStuck",
    "CreatifyCreditsLow",
    "CreatifyExporterStateWriteFailing",
    "CreatifyWebhookForwardsLost",
    "CreatifyExporterConfigReloadFailed",
};
// Alerts whose state depends on the simulated load rather than on health, with the reason.
// Every alert of rules.yaml must be in one of the two lists, so that a new alert is classified.
const std::map<std::string, std::string> kLoadDependent = {
    {"CreatifyJobFailureRatioHigh",
     "the simulator fails or rejects a third of its jobs, above the alert's 20%"},
    {"CreatifyCreditsRunningOut",
     "jobs finish every few seconds, so the credit trend runs out within days"},
};

// Percent-encodes all but RFC 3986's unreserved characters, for a query string parameter.
std::string UrlEncode(std::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : text) {
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
        c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 0xF];
    }
  }
  return out;
}

// A loopback port that was free a moment ago, or 0. Prometheus cannot be told to pick one
// itself, so the caller must be ready for it to be taken in between.
int PickFreePort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return 0;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof addr;
  int port = 0;
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
      getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
    port = ntohs(addr.sin_port);
  }
  close(fd);
  return port;
}

// Polls the simulator every second, as a deployment would, only faster. With `workspaces`, the
// same jobs as two workspaces of the one simulator: brand-a the ad clones and custom templates,
// brand-b aurora (the credentials come from the environment for both).
std::string ExporterConfig(const Simulator& simulator, bool workspaces = false) {
  const auto list = [](const std::vector<std::string>& ids) {
    Json json = Json::array();
    for (const auto& id : ids) json.push_back(id);
    return json.dump();
  };
  std::string yaml;
  yaml += "api:\n";
  yaml += "  base_url: http://127.0.0.1:" + std::to_string(simulator.port) + "\n";
  yaml += "  timeout: 2s\n";
  yaml += "poll_interval: 1s\n";
  yaml += "breakdown:\n";
  yaml += "  fields: [model_version, aspect_ratio]\n";
  if (workspaces) {
    yaml += "workspaces:\n";
    yaml += "  - name: brand-a\n";
    yaml += "    ads_clone: {ids: " + list(simulator.Ids("ads_clone")) + "}\n";
    yaml += "    custom_template_jobs: {ids: " + list(simulator.Ids("custom_template")) + "}\n";
    yaml += "  - name: brand-b\n";
    yaml += "    aurora: {}\n";
    return yaml;
  }
  yaml += "ads_clone:\n";
  yaml += "  ids: " + list(simulator.Ids("ads_clone")) + "\n";
  yaml += "custom_template_jobs:\n";
  yaml += "  ids: " + list(simulator.Ids("custom_template")) + "\n";
  yaml += "aurora:\n";
  yaml += "  enabled: true\n";
  // The breakdown above is what the "Where the credits go" panels read (their field variable:
  // model_version).
  return yaml;
}

// Scrapes and evaluates every second; the job name is the one the rules' target alerts expect.
std::string PrometheusConfig(int exporter_port) {
  const std::string rules =
      std::string(CREATIFY_SOURCE_DIR) + "/" + std::string(deploy_prometheus::kRulesPath);
  std::string yaml;
  yaml += "global:\n";
  yaml += "  scrape_interval: 1s\n";
  yaml += "  scrape_timeout: 1s\n";
  yaml += "  evaluation_interval: 1s\n";
  yaml += "rule_files:\n";
  yaml += "  - " + Json(rules).dump() + "\n";
  yaml += "scrape_configs:\n";
  yaml += "  - job_name: creatify-exporter\n";
  yaml += "    static_configs:\n";
  yaml += "      - targets: [\"127.0.0.1:" + std::to_string(exporter_port) + "\"]\n";
  return yaml;
}

// The real Prometheus on a loopback port, with its TSDB in `dir`.
struct Prometheus {
  std::unique_ptr<testsupport::Process> process;
  int port = 0;
  // Why the start failed, for the test's message; empty on success.
  std::string error;

  Prometheus(const testsupport::TempDir& dir, const std::string& config_path) {
    constexpr int kAttempts = 5;
    for (int attempt = 1; attempt <= kAttempts; ++attempt) {
      const int candidate = PickFreePort();
      if (candidate == 0) {
        error = "no free loopback port";
        return;
      }
      const std::string suffix = std::to_string(attempt);
      process = std::make_unique<testsupport::Process>(
          std::vector<std::string>{CREATIFY_PROMETHEUS, "--config.file=" + config_path,
                                   "--storage.tsdb.path=" + dir.File("tsdb-" + suffix),
                                   "--web.listen-address=127.0.0.1:" + std::to_string(candidate),
                                   "--log.level=info"},
          dir.File("prometheus-" + suffix + ".log"));
      // Ready means this process logged it and the port answers: another server that took the
      // port first makes this process exit instead.
      const bool ready = WaitFor(
          [&] {
            if (process->Poll()) return true;
            return process->Log().find("Server is ready to receive web requests") !=
                       std::string::npos &&
                   testsupport::HttpGet(candidate, "/-/ready").status == 200;
          },
          std::chrono::seconds(30));
      if (ready && !process->Poll()) {
        port = candidate;
        error.clear();
        return;
      }
      const std::string log = process->Log();
      process->Stop();
      error = "Prometheus did not become ready on port " + std::to_string(candidate) + ":\n" + log;
      if (log.find("address already in use") == std::string::npos) return;
    }
  }
};

// One answer of /api/v1/query.
struct QueryAnswer {
  int http_status = 0;
  // "success" or "error"; empty when the body was not Prometheus' JSON.
  std::string status;
  std::string error;
  Json data;
  std::string body;

  bool ok() const { return status == "success"; }

  // At least one sample whose value is a number: a panel of NaN alone shows nothing useful.
  bool HasData() const {
    if (!ok() || !data.is_object()) return false;
    const std::string type = data.value("resultType", "");
    const Json result = data.value("result", Json());
    if (type == "scalar") return result.is_array() && result.size() == 2 && result[1] != "NaN";
    if (type != "vector" || !result.is_array()) return false;
    for (const Json& sample : result) {
      const Json value = sample.value("value", Json::array());
      if (value.size() == 2 && value[1].is_string() && value[1] != "NaN") return true;
    }
    return false;
  }

  // The values of an instant vector's samples, as Prometheus writes them ("1", "NaN", ...).
  std::vector<std::string> Values() const {
    std::vector<std::string> values;
    if (!ok() || !data.is_object() || data.value("resultType", "") != "vector") return values;
    for (const Json& sample : data.value("result", Json::array())) {
      const Json value = sample.value("value", Json::array());
      values.push_back(value.size() == 2 && value[1].is_string() ? value[1].get<std::string>()
                                                                 : value.dump());
    }
    return values;
  }

  // A short rendering for messages: the first few series and values.
  std::string Summary() const {
    if (http_status == 0) return "no answer from Prometheus";
    if (!ok()) return "HTTP " + std::to_string(http_status) + " " + status + ": " + error;
    if (!data.is_object()) return "no data in " + body.substr(0, 200);
    std::string text = data.value("resultType", "?") + " ";
    const Json result = data.value("result", Json());
    if (!result.is_array() || data.value("resultType", "") != "vector") return text + result.dump();
    text += std::to_string(result.size()) + " series";
    for (std::size_t i = 0; i < result.size() && i < 3; ++i) {
      text += "; " + result[i].value("metric", Json::object()).dump() + " " +
              result[i].value("value", Json::array()).dump();
    }
    return text;
  }
};

QueryAnswer Query(int port, const std::string& expr) {
  QueryAnswer answer;
  auto http = testsupport::HttpGet(port, "/api/v1/query?query=" + UrlEncode(expr));
  answer.http_status = http.status;
  answer.body = http.body;
  Json json = Json::parse(http.body, nullptr, false);
  if (!json.is_object()) {
    answer.error = "not JSON: " + http.body.substr(0, 200);
    return answer;
  }
  if (json.contains("status") && json["status"].is_string()) answer.status = json["status"];
  if (json.contains("error") && json["error"].is_string()) answer.error = json["error"];
  if (json.contains("data")) answer.data = json["data"];
  return answer;
}

// The rules Prometheus loaded, from /api/v1/rules.
std::vector<Json> LoadedRules(int port) {
  std::vector<Json> rules;
  Json json = Json::parse(testsupport::HttpGet(port, "/api/v1/rules").body, nullptr, false);
  if (!json.is_object() || !json.contains("data") || !json["data"].is_object()) return rules;
  for (const Json& group : json["data"].value("groups", Json::array())) {
    for (const Json& rule : group.value("rules", Json::array())) {
      rules.push_back(rule);
    }
  }
  return rules;
}

// Jobs of every kind that reached one of `statuses`, from the simulator's GET /sim/state.
double SimulatorCompleted(const Json& state, const std::vector<std::string>& statuses) {
  double total = 0;
  for (const auto* kind : {"ads_clone", "custom_template", "aurora"}) {
    for (const auto& status : statuses) {
      const Json::json_pointer pointer("/kinds/" + std::string(kind) + "/completed/" + status);
      if (state.contains(pointer) && state[pointer].is_number())
        total += state[pointer].get<double>();
    }
  }
  return total;
}

std::string Key(const deploy_prometheus::PromqlExpr& expr) {
  return expr.ref_id.empty() ? expr.name : expr.name + " / " + expr.ref_id;
}

// The whole check, for the exporter run with `workspaces` or without.
void CheckEveryExpression(bool workspaces) {
  REQUIRE_MESSAGE(std::filesystem::exists(CREATIFY_PROMETHEUS),
                  CREATIFY_PROMETHEUS " not found: install the Debian package prometheus");
  const std::string source_dir = CREATIFY_SOURCE_DIR;
  const auto dashboard = deploy_prometheus::DashboardExprs(
      source_dir + "/" + std::string(deploy_prometheus::kDashboardPath));
  const auto rules =
      deploy_prometheus::RuleExprs(source_dir + "/" + std::string(deploy_prometheus::kRulesPath));
  REQUIRE_MESSAGE(dashboard.ok(), dashboard.error);
  REQUIRE_MESSAGE(rules.ok(), rules.error);
  REQUIRE(!dashboard.exprs.empty());
  REQUIRE(!rules.exprs.empty());
  for (const auto& [key, reason] : kMayBeEmpty) {
    bool known = false;
    for (const auto& expr : dashboard.exprs) known = known || Key(expr) == key;
    CHECK_MESSAGE(known, "kMayBeEmpty names a query the dashboard no longer has: ", key);
  }
  for (const auto& expr : rules.exprs) {
    if (!expr.alert) continue;
    CHECK_MESSAGE(kQuietWhenHealthy.contains(expr.name) + kLoadDependent.contains(expr.name) == 1,
                  "alert ", expr.name,
                  " must be listed once, in kQuietWhenHealthy or in kLoadDependent");
  }

  testsupport::TempDir dir;
  // Jobs move every ~2s and end failed or rejected a third of the time; a new aurora job every
  // second keeps some jobs unfinished for the "Active jobs" table whatever the timing.
  Simulator simulator(dir, {"--seed=5", "--ads-clone-jobs=4", "--custom-template-jobs=4",
                            "--aurora-jobs=4", "--stage-duration=2s", "--aurora-spawn-interval=1s",
                            "--failure-ratio=0.25", "--rejection-ratio=0.1"});
  REQUIRE(simulator.port > 0);
  Exporter exporter(dir, ExporterConfig(simulator, workspaces));
  REQUIRE(exporter.port > 0);

  testsupport::WriteFile(dir.File("prometheus.yml"), PrometheusConfig(exporter.port));
  Prometheus prometheus(dir, dir.File("prometheus.yml"));
  INFO("simulator log:\n", simulator.process->Log());
  INFO("exporter log:\n", exporter.process->Log());
  INFO("prometheus log:\n", prometheus.process ? prometheus.process->Log() : "");
  REQUIRE_MESSAGE(prometheus.port > 0, prometheus.error);
  const int port = prometheus.port;

  // The target is scraped.
  REQUIRE(WaitFor([&] { return Query(port, kUp).Values() == std::vector<std::string>{"1"}; },
                  std::chrono::seconds(30)));

  // Jobs have reached terminal states, done and otherwise, in the simulator's ground truth.
  REQUIRE(WaitFor(
      [&] {
        const Json state = simulator.State();
        return SimulatorCompleted(state, {"done"}) > 0 &&
               SimulatorCompleted(state, {"failed", "rejected"}) > 0;
      },
      std::chrono::seconds(60)));

  // Prometheus scrapes and evaluates rules on its own schedule: wait, with a deadline, until
  // every rule has been evaluated without error and every query has had time to see the
  // terminal jobs, then check each one so that a failure names the query.
  //
  // A round is some forty requests: at most two rounds a second, so that a failing run does not
  // use up the loopback's ephemeral ports.
  auto next_round = std::chrono::steady_clock::now();
  const auto all_ready = [&] {
    if (std::chrono::steady_clock::now() < next_round) return false;
    next_round = std::chrono::steady_clock::now() + std::chrono::milliseconds(500);
    auto loaded = LoadedRules(port);
    if (loaded.size() != rules.exprs.size()) return false;
    for (const auto& rule : loaded) {
      if (rule.value("health", "") != "ok") return false;
    }
    for (const auto& expr : rules.exprs) {
      if (!expr.alert && !Query(port, expr.expr).HasData()) return false;
    }
    for (const auto& expr : dashboard.exprs) {
      if (!kMayBeEmpty.contains(Key(expr)) && !Query(port, expr.expr).HasData()) return false;
    }
    return true;
  };
  WaitFor(all_ready, std::chrono::seconds(60));
  // A process that died would fail every check below for the same reason: say so once.
  REQUIRE_MESSAGE(!exporter.process->Poll(), "the exporter exited");
  REQUIRE_MESSAGE(!prometheus.process->Poll(), "Prometheus exited");

  auto up = Query(port, kUp);
  CHECK_MESSAGE(up.Values() == std::vector<std::string>{"1"}, up.Summary());
  // Prometheus asks for OpenMetrics first, and gets it: the _created samples only OpenMetrics
  // carries are scraped as series of their own, and every sample of the body is taken.
  auto scraped = Query(port, "scrape_samples_scraped{job=\"creatify-exporter\"} > 100");
  CHECK_MESSAGE(scraped.HasData(), scraped.Summary());
  auto created = Query(port, "count(creatify_jobs_completed_created) > 0");
  CHECK_MESSAGE(created.HasData(), created.Summary());
  if (workspaces) {
    // One creatify_up per workspace, and the dashboard's credit burn panel sees both.
    auto per_workspace = Query(port, "count(creatify_up{workspace=~\"brand-a|brand-b\"} == 1)");
    CHECK_MESSAGE(per_workspace.Values() == std::vector<std::string>{"2"}, per_workspace.Summary());
    auto unlabelled = Query(port, "count(creatify_up{workspace=\"\"}) or vector(0)");
    CHECK_MESSAGE(unlabelled.Values() == std::vector<std::string>{"0"}, unlabelled.Summary());
  }

  // The rule file loaded whole, and Prometheus evaluates every rule without error. (The API
  // orders groups by name, not as in the file.)
  auto loaded = LoadedRules(port);
  std::multiset<std::string> loaded_names, file_names;
  for (const auto& rule : loaded) loaded_names.insert(rule.value("name", ""));
  for (const auto& expr : rules.exprs) file_names.insert(expr.name);
  CHECK(loaded_names == file_names);
  for (const auto& rule : loaded) {
    CHECK_MESSAGE(rule.value("health", "") == "ok", rule.dump());
    CHECK_MESSAGE(rule.value("lastError", "") == "", rule.dump());
  }

  // Every rule expression evaluates through the query API; recording rules, which the dashboard
  // reads, also return data.
  for (const auto& expr : rules.exprs) {
    auto answer = Query(port, expr.expr);
    CHECK_MESSAGE(answer.ok(), expr.name, ": ", answer.Summary(), "\n", expr.expr);
    if (!expr.alert) {
      CHECK_MESSAGE(answer.HasData(), expr.name, " returned no number: ", answer.Summary());
    }
  }

  // Every dashboard query evaluates and, unless exempted above, returns data.
  for (const auto& expr : dashboard.exprs) {
    auto answer = Query(port, expr.expr);
    CHECK_MESSAGE(answer.ok(), Key(expr), ": ", answer.Summary(), "\n", expr.expr);
    if (!kMayBeEmpty.contains(Key(expr))) {
      CHECK_MESSAGE(answer.HasData(), Key(expr), " returned no number: ", answer.Summary(), "\n",
                    expr.expr);
    }
  }

  // Nothing is wrong, so no health alert is even pending.
  for (const auto& rule : loaded) {
    if (kQuietWhenHealthy.contains(rule.value("name", ""))) {
      CHECK_MESSAGE(rule.value("state", "") == "inactive", rule.dump());
    }
  }
}

}  // namespace

TEST_CASE(
    "every dashboard and rule expression evaluates in a real Prometheus scraping the exporter") {
  CheckEveryExpression(/*workspaces=*/false);
}

TEST_CASE("the same with two workspaces: every expression evaluates and returns data") {
  CheckEveryExpression(/*workspaces=*/true);
}
