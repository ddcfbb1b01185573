// Checks of deploy/prometheus/rules.yaml and rules.test.yaml against the project's conventions,
// and of docs/runbook.md against the alerts. promtool itself runs as the CTest checks
// deploy/prometheus/check-rules and deploy/prometheus/test-rules.
#include <doctest/doctest.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <map>
#include <regex>
#include <set>
#include <string>
#include <vector>

#include "deploy/prometheus/deploy_files.h"
#include "deploy/prometheus/promql_exprs.h"
#include "deploy/prometheus/promql_scan.h"

namespace deploy_prometheus {
namespace {

constexpr std::string_view kTestsPath = "deploy/prometheus/rules.test.yaml";
constexpr std::string_view kRunbookPath = "docs/runbook.md";
constexpr std::string_view kBaseMarker = "# runbook-base: ";

YAML::Node Load(std::string_view relative) {
  YAML::Node root;
  REQUIRE_NOTHROW(root = YAML::LoadFile(SourcePath(relative)));
  return root;
}

// Every rule of rules.yaml, as YAML nodes.
std::vector<YAML::Node> Rules() {
  std::vector<YAML::Node> rules;
  YAML::Node root = Load(kRulesPath);
  REQUIRE(root["groups"].IsSequence());
  for (const auto& group : root["groups"]) {
    for (const auto& rule : group["rules"]) rules.push_back(rule);
  }
  REQUIRE(!rules.empty());
  return rules;
}

std::vector<YAML::Node> Alerts() {
  std::vector<YAML::Node> alerts;
  for (const auto& rule : Rules()) {
    if (rule["alert"]) alerts.push_back(rule);
  }
  return alerts;
}

// The base of the runbook links, declared once in a comment of rules.yaml.
std::string RunbookBase() {
  std::string text = ReadText(SourcePath(kRulesPath));
  size_t at = text.find(kBaseMarker);
  REQUIRE_MESSAGE(at != std::string::npos, kRulesPath << " declares no '" << kBaseMarker << "'");
  at += kBaseMarker.size();
  std::string base = text.substr(at, text.find('\n', at) - at);
  REQUIRE(base.rfind("https://", 0) == 0);
  REQUIRE(base.back() == '/');
  return base;
}

TEST_CASE("every alert has a CamelCase Creatify name, for, severity and the annotations") {
  std::regex name_pattern("Creatify([A-Z][a-z0-9]*)+");
  std::set<std::string> names;
  for (const auto& alert : Alerts()) {
    std::string name = alert["alert"].as<std::string>();
    CAPTURE(name);
    CHECK(std::regex_match(name, name_pattern));
    CHECK(names.insert(name).second);
    CHECK_FALSE(alert["for"].as<std::string>("").empty());
    std::string severity = alert["labels"]["severity"].as<std::string>("");
    CHECK((severity == "critical" || severity == "warning" || severity == "info"));
    for (const char* key : {"summary", "description", "runbook_url"}) {
      CAPTURE(key);
      CHECK_FALSE(alert["annotations"][key].as<std::string>("").empty());
    }
  }
  CHECK(names.size() >= 10);
}

TEST_CASE("recording rules are named creatify:<what>:<operation>") {
  std::regex name_pattern("creatify:[a-z0-9_]+:[a-z0-9_]+");
  int records = 0;
  for (const auto& rule : Rules()) {
    if (!rule["record"]) continue;
    ++records;
    std::string name = rule["record"].as<std::string>();
    CAPTURE(name);
    CHECK(std::regex_match(name, name_pattern));
    CHECK_FALSE(rule["for"]);
  }
  CHECK(records >= 1);
}

TEST_CASE("the rules watch the exporter target by its job name") {
  std::map<std::string, std::string> exprs;
  for (const auto& alert : Alerts()) {
    exprs[alert["alert"].as<std::string>()] = alert["expr"].as<std::string>();
  }
  bool down = false, absent = false;
  for (const auto& [name, expr] : exprs) {
    down = down || expr.find(R"(up{job="creatify-exporter"} == 0)") != std::string::npos;
    absent = absent || expr.find(R"(absent(up{job="creatify-exporter"}))") != std::string::npos;
  }
  CHECK(down);
  CHECK(absent);
}

TEST_CASE("the rules read only documented series and their own recording rules") {
  std::map<std::string, SeriesDoc> documented = DocumentedSeries(ReadText(SourcePath("README.md")));
  REQUIRE(!documented.empty());
  PromqlExprs rules = RuleExprs(SourcePath(kRulesPath));
  REQUIRE_MESSAGE(rules.ok(), rules.error);
  std::set<std::string> known = {"up"};
  for (const auto& [name, doc] : documented) known.insert(name);
  for (const PromqlExpr& rule : rules.exprs) {
    for (const Selector& selector : Selectors(rule.expr)) {
      CAPTURE(rule.name);
      CAPTURE(selector.metric);
      // A recording rule must come before the rules that read it: groups run in order.
      CHECK(known.count(selector.metric) == 1);
    }
    if (!rule.alert) known.insert(rule.name);
  }
}

// With `workspaces:` every series of a workspace carries a workspace label; without it the label is
// absent, which `by` and `on` take as the empty value. A `by` or `on` that left it out would add
// up, or match, the workspaces of one exporter as one. The exception: the joins with
// creatify_exporter_shard_info (`on (...) group_left (shard)`), one series per exporter process
// and so without a workspace.
TEST_CASE("every rule keeps the workspace label apart") {
  PromqlExprs rules = RuleExprs(SourcePath(kRulesPath));
  REQUIRE_MESSAGE(rules.ok(), rules.error);
  int groupings = 0;
  for (const PromqlExpr& rule : rules.exprs) {
    CAPTURE(rule.name);
    std::vector<Grouping> clauses = Groupings(rule.expr);
    for (size_t i = 0; i < clauses.size(); ++i) {
      const Grouping& clause = clauses[i];
      CAPTURE(clause.keyword);
      bool names_workspace =
          std::find(clause.labels.begin(), clause.labels.end(), "workspace") != clause.labels.end();
      if (clause.keyword == "without" || clause.keyword == "ignoring") {
        CHECK_FALSE(names_workspace);
      } else if (clause.keyword == "by") {
        ++groupings;
        CHECK(names_workspace);
      } else if (clause.keyword == "on") {
        ++groupings;
        bool shard_join = i + 1 < clauses.size() && clauses[i + 1].keyword == "group_left" &&
                          clauses[i + 1].labels == std::vector<std::string>{"shard"};
        CHECK(names_workspace != shard_join);
      }
    }
  }
  CHECK(groupings >= 1);
}

TEST_CASE("every runbook_url uses the declared base and an anchor of docs/runbook.md") {
  std::string base = RunbookBase();
  std::set<std::string> anchors;
  std::vector<std::string> headings = SectionHeadings(ReadText(SourcePath(kRunbookPath)));
  for (const auto& heading : headings) anchors.insert(GithubAnchor(heading));
  std::set<std::string> alert_names;
  for (const auto& alert : Alerts()) {
    std::string name = alert["alert"].as<std::string>();
    alert_names.insert(name);
    std::string url = alert["annotations"]["runbook_url"].as<std::string>("");
    CAPTURE(name);
    CAPTURE(url);
    std::string prefix = base + std::string(kRunbookPath) + "#";
    REQUIRE(url.rfind(prefix, 0) == 0);
    std::string anchor = url.substr(prefix.size());
    CHECK(anchor == GithubAnchor(name));
    CHECK(anchors.count(anchor) == 1);
  }
  // And the runbook has no section for an alert that does not exist.
  for (const auto& heading : headings) {
    CAPTURE(heading);
    CHECK(alert_names.count(heading) == 1);
  }
}

TEST_CASE("every alert has a firing and a non-firing case in rules.test.yaml") {
  YAML::Node tests = Load(kTestsPath);
  bool loads_rules = false;
  for (const auto& file : tests["rule_files"])
    loads_rules |= file.as<std::string>() == "rules.yaml";
  CHECK(loads_rules);

  std::set<std::string> alerts;
  for (const auto& alert : Alerts()) alerts.insert(alert["alert"].as<std::string>());
  std::set<std::string> fires, stays_quiet;
  REQUIRE(tests["tests"].IsSequence());
  for (const auto& test : tests["tests"]) {
    for (const auto& alert_test : test["alert_rule_test"]) {
      std::string name = alert_test["alertname"].as<std::string>("");
      CAPTURE(name);
      CHECK(alerts.count(name) == 1);
      YAML::Node expected = alert_test["exp_alerts"];
      if (!expected || expected.size() == 0) {
        stays_quiet.insert(name);
        continue;
      }
      fires.insert(name);
      for (const auto& alert : expected) {
        CHECK(alert["exp_labels"]["severity"]);
        for (const char* key : {"summary", "description", "runbook_url"}) {
          CAPTURE(key);
          CHECK(alert["exp_annotations"][key]);
        }
      }
    }
  }
  for (const auto& name : alerts) {
    CAPTURE(name);
    CHECK(fires.count(name) == 1);
    CHECK(stays_quiet.count(name) == 1);
  }
}

TEST_CASE("every recording rule is checked in rules.test.yaml") {
  YAML::Node tests = Load(kTestsPath);
  std::set<std::string> tested;
  for (const auto& test : tests["tests"]) {
    for (const auto& expr_test : test["promql_expr_test"]) {
      for (const Selector& selector : Selectors(expr_test["expr"].as<std::string>(""))) {
        if (expr_test["exp_samples"] && expr_test["exp_samples"].size() > 0) {
          tested.insert(selector.metric);
        }
      }
    }
  }
  for (const auto& rule : Rules()) {
    if (!rule["record"]) continue;
    std::string name = rule["record"].as<std::string>();
    CAPTURE(name);
    CHECK(tested.count(name) == 1);
  }
}

}  // namespace
}  // namespace deploy_prometheus
