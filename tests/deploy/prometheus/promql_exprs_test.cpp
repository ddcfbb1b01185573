#include "deploy/prometheus/promql_exprs.h"

#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <set>

#include "deploy/prometheus/deploy_files.h"

namespace deploy_prometheus {
namespace {

// A file under the build tree that the test owns, removed when it goes out of scope.
class ScratchFile {
 public:
  ScratchFile(const std::string& name, const std::string& content)
      : path_(std::string(CREATIFY_BINARY_DIR) + "/deploy_prometheus_test." + name) {
    std::ofstream(path_) << content;
  }
  ~ScratchFile() { std::filesystem::remove(path_); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

TEST_CASE("SubstituteGrafanaVariables") {
  CHECK(SubstituteGrafanaVariables("rate(x[$__rate_interval])") == "rate(x[1m])");
  CHECK(SubstituteGrafanaVariables("rate(x[${__rate_interval}])") == "rate(x[1m])");
  CHECK(SubstituteGrafanaVariables("avg_over_time(x[$__interval])") == "avg_over_time(x[1m])");
  CHECK(SubstituteGrafanaVariables("increase(x[$__range])") == "increase(x[5m])");
  CHECK(SubstituteGrafanaVariables(R"(x{kind=~"$kind", instance=~"$instance"})") ==
        R"(x{kind=~".*", instance=~".*"})");
  CHECK(SubstituteGrafanaVariables(R"(x{kind=~"${kind}|${kind:regex}|${instance:pipe}"})") ==
        R"(x{kind=~".*|.*|.*"})");
  CHECK(SubstituteGrafanaVariables(R"(up{job=~"$job", instance=~"${instance}"})") ==
        R"(up{job=~".*", instance=~".*"})");
  CHECK(SubstituteGrafanaVariables(R"(x{workspace=~"$workspace", w=~"${workspace:regex}"})") ==
        R"(x{workspace=~".*", w=~".*"})");
  // Unknown variables, and names that only start like a known one, stay as written.
  CHECK(SubstituteGrafanaVariables(
            "$datasource ${datasource} $__interval_ms $kindly $jobs $workspaces ${x:raw}") ==
        "$datasource ${datasource} $__interval_ms $kindly $jobs $workspaces ${x:raw}");
  CHECK(SubstituteGrafanaVariables("cost in $ and ${unclosed") == "cost in $ and ${unclosed");
}

TEST_CASE("DashboardExprs returns every query of the shipped dashboard, variables replaced") {
  PromqlExprs result = DashboardExprs(SourcePath(kDashboardPath));
  REQUIRE_MESSAGE(result.ok(), result.error);
  REQUIRE(result.exprs.size() >= 10);
  std::set<std::string> seen;
  for (const PromqlExpr& expr : result.exprs) {
    CAPTURE(expr.name);
    CAPTURE(expr.ref_id);
    CHECK_FALSE(expr.name.empty());
    CHECK_FALSE(expr.ref_id.empty());
    CHECK_FALSE(expr.alert);
    CHECK(expr.expr.find('$') == std::string::npos);
    CHECK(seen.insert(expr.name + "/" + expr.ref_id).second);
  }
}

TEST_CASE("DashboardExprs descends into collapsed rows and skips queries without expr") {
  ScratchFile file("dashboard.json", R"json({"panels": [
      {"type": "row", "title": "R", "collapsed": true, "panels": [
        {"type": "stat", "title": "Inner", "targets": [
          {"refId": "A", "expr": "sum(rate(x{kind=~\"${kind:regex}\"}[$__rate_interval]))"}]}]},
      {"type": "text", "title": "Notes"},
      {"type": "table", "title": "T", "targets": [{"refId": "A"}, {"refId": "B", "expr": "up"}]}
    ]})json");
  PromqlExprs result = DashboardExprs(file.path());
  REQUIRE_MESSAGE(result.ok(), result.error);
  REQUIRE(result.exprs.size() == 2);
  CHECK(result.exprs[0].name == "Inner");
  CHECK(result.exprs[0].ref_id == "A");
  CHECK(result.exprs[0].expr == R"(sum(rate(x{kind=~".*"}[1m])))");
  CHECK(result.exprs[1].name == "T");
  CHECK(result.exprs[1].ref_id == "B");
}

TEST_CASE("RuleExprs returns every rule of the shipped rule file") {
  PromqlExprs result = RuleExprs(SourcePath(kRulesPath));
  REQUIRE_MESSAGE(result.ok(), result.error);
  std::set<std::string> alerts, records;
  for (const PromqlExpr& expr : result.exprs) {
    CHECK_FALSE(expr.expr.empty());
    CHECK(expr.ref_id.empty());
    (expr.alert ? alerts : records).insert(expr.name);
  }
  CHECK(alerts.count("CreatifyExporterDown") == 1);
  CHECK(records.count("creatify:jobs_completed:rate30m") == 1);
  CHECK(alerts.size() >= 10);
  CHECK(records.size() >= 1);
}

TEST_CASE("DashboardExprs and RuleExprs report unreadable and malformed files") {
  std::string missing = std::string(CREATIFY_BINARY_DIR) + "/no-such-file";
  PromqlExprs result = DashboardExprs(missing);
  CHECK(result.error == missing + ": cannot read");
  CHECK(result.exprs.empty());
  result = RuleExprs(missing);
  CHECK(result.error == missing + ": cannot read");

  ScratchFile bad_json("bad.json", R"({"panels": [)");
  result = DashboardExprs(bad_json.path());
  CHECK(result.error.rfind(bad_json.path() + ": ", 0) == 0);
  CHECK(result.exprs.empty());

  ScratchFile not_dashboard("list.json", "[1, 2]");
  CHECK(DashboardExprs(not_dashboard.path()).error ==
        not_dashboard.path() + ": not a dashboard (no \"panels\")");

  ScratchFile bad_yaml("bad.yaml", "groups:\n  - name: x\n    rules: [\n");
  result = RuleExprs(bad_yaml.path());
  CHECK(result.error.rfind(bad_yaml.path() + ": ", 0) == 0);
  CHECK(result.exprs.empty());

  ScratchFile no_groups("empty.yaml", "scrape_configs: []\n");
  CHECK(RuleExprs(no_groups.path()).error ==
        no_groups.path() + ": not a rule file (no \"groups\" list)");
}

}  // namespace
}  // namespace deploy_prometheus
