// Checks of grafana/: the overview dashboard's conventions and the provisioning files.
#include <doctest/doctest.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "deploy/prometheus/deploy_files.h"
#include "deploy/prometheus/promql_exprs.h"
#include "deploy/prometheus/promql_scan.h"

namespace deploy_prometheus {
namespace {

using nlohmann::json;

const std::set<std::string>& AllowedPanelTypes() {
  static const std::set<std::string> kTypes = {"timeseries", "stat", "table", "state-timeline",
                                               "bargauge"};
  return kTypes;
}

json LoadDashboard() {
  std::string text = ReadText(SourcePath(kDashboardPath));
  REQUIRE_MESSAGE(!text.empty(), "cannot read " << kDashboardPath);
  json dashboard = json::parse(text, nullptr, /*allow_exceptions=*/false);
  REQUIRE_MESSAGE(dashboard.is_object(), kDashboardPath << " is not a JSON object");
  return dashboard;
}

// Every panel that is not a row, including those nested in collapsed rows.
void ForEachPanel(const json& panels, const std::function<void(const json&)>& visit) {
  for (const json& panel : panels) {
    if (panel.value("type", "") == "row") {
      if (panel.contains("panels")) ForEachPanel(panel["panels"], visit);
    } else {
      visit(panel);
    }
  }
}

const json* FindVariable(const json& dashboard, const std::string& name) {
  for (const json& variable : dashboard["templating"]["list"]) {
    if (variable.value("name", "") == name) return &variable;
  }
  return nullptr;
}

bool UsesDatasourceVariable(const json& node) {
  if (!node.contains("datasource") || !node["datasource"].is_object()) return false;
  const json& ds = node["datasource"];
  std::string uid = ds.value("uid", "");
  return ds.value("type", "") == "prometheus" && (uid == "${datasource}" || uid == "$datasource");
}

bool HasMatcher(const Selector& selector, const std::string& label, const std::string& value) {
  for (const LabelMatcher& matcher : selector.matchers) {
    if (matcher.label == label && matcher.op == "=~" && matcher.value == value) return true;
  }
  return false;
}

// Calls `check(panel title, refId, raw expr)` for every query of the dashboard.
void ForEachQuery(
    const json& dashboard,
    const std::function<void(const std::string&, const std::string&, const std::string&)>& check) {
  ForEachPanel(dashboard["panels"], [&](const json& panel) {
    for (const json& target : panel.value("targets", json::array())) {
      check(panel.value("title", ""), target.value("refId", ""), target.value("expr", ""));
    }
  });
}

TEST_CASE("the dashboard has a stable uid, a title, tags and a Grafana 10/11 schema") {
  json dashboard = LoadDashboard();
  CHECK(dashboard.value("uid", "") == "creatify-overview");
  CHECK_FALSE(dashboard.value("title", "").empty());
  CHECK(dashboard["tags"].is_array());
  CHECK(dashboard["tags"].size() >= 1);
  int schema = dashboard.value("schemaVersion", 0);
  CHECK(schema >= 36);  // Grafana 9.x/10.0
  CHECK(schema <= 41);  // Grafana 11.x
  // Provisioned dashboards must not carry a database id.
  CHECK((!dashboard.contains("id") || dashboard["id"].is_null()));
}

TEST_CASE("the dashboard is ready for file provisioning: no __inputs, no DS_ placeholders") {
  json dashboard = LoadDashboard();
  CHECK_FALSE(dashboard.contains("__inputs"));
  CHECK_FALSE(dashboard.contains("__requires"));
  std::string text = ReadText(SourcePath(kDashboardPath));
  CHECK(text.find("${DS_") == std::string::npos);
  CHECK(text.find("__inputs") == std::string::npos);
}

TEST_CASE("the dashboard has a Prometheus datasource variable named datasource") {
  json dashboard = LoadDashboard();
  const json* variable = FindVariable(dashboard, "datasource");
  REQUIRE(variable != nullptr);
  CHECK(variable->value("type", "") == "datasource");
  CHECK(variable->value("query", "") == "prometheus");
}

TEST_CASE("the dashboard has job, instance and kind (multi, all) variables from label_values") {
  json dashboard = LoadDashboard();
  for (const char* name : {"job", "instance", "kind"}) {
    CAPTURE(name);
    const json* variable = FindVariable(dashboard, name);
    REQUIRE(variable != nullptr);
    CHECK(variable->value("type", "") == "query");
    CHECK(UsesDatasourceVariable(*variable));
    std::string definition = variable->value("definition", "");
    CHECK(definition.rfind("label_values(", 0) == 0);
    CHECK(definition.find(std::string(", ") + name + ")") != std::string::npos);
    const json& query = (*variable)["query"];
    CHECK((query.is_object() ? query.value("query", "") : query.get<std::string>()) == definition);
  }
  const json& kind = *FindVariable(dashboard, "kind");
  CHECK(kind.value("multi", false));
  CHECK(kind.value("includeAll", false));
  // Which kinds exist depends on the selected exporters.
  CHECK(kind.value("definition", "").find(R"(instance=~"$instance")") != std::string::npos);
  CHECK(kind.value("definition", "").find(R"(job=~"$job")") != std::string::npos);
  const json& instance = *FindVariable(dashboard, "instance");
  CHECK(instance.value("definition", "").find(R"(job=~"$job")") != std::string::npos);

  // The scrape jobs that carry the exporter's own series.
  const json& job = *FindVariable(dashboard, "job");
  CHECK(job.value("definition", "") == "label_values(creatify_up, job)");
  CHECK(job.value("multi", false));
  CHECK(job.value("includeAll", false));
  // "All" must stand for the jobs found, not for ".*": Prometheus' own `up` series, which the
  // dashboard reads, exist for every target Prometheus scrapes.
  CHECK((!job.contains("allValue") || job["allValue"].is_null() ||
         job["allValue"].get<std::string>().empty()));
}

// Exporters without `workspaces:` have no workspace label: the variable then finds nothing and
// offers only All, whose ".*" also matches a series without the label.
TEST_CASE("the dashboard has a workspace (multi, all) variable after instance") {
  json dashboard = LoadDashboard();
  const json* variable = FindVariable(dashboard, "workspace");
  REQUIRE(variable != nullptr);
  CHECK(variable->value("type", "") == "query");
  CHECK(UsesDatasourceVariable(*variable));
  const std::string definition =
      R"(label_values(creatify_up{job=~"$job", instance=~"$instance"}, workspace))";
  CHECK(variable->value("definition", "") == definition);
  const json& query = (*variable)["query"];
  CHECK((query.is_object() ? query.value("query", "") : query.get<std::string>()) == definition);
  CHECK(variable->value("multi", false));
  CHECK(variable->value("includeAll", false));
  CHECK(variable->value("allValue", "") == ".*");
  CHECK(variable->value("description", "").find("only All") != std::string::npos);

  std::vector<std::string> order;
  for (const json& v : dashboard["templating"]["list"]) order.push_back(v.value("name", ""));
  auto at = [&](const std::string& name) {
    return std::find(order.begin(), order.end(), name) - order.begin();
  };
  CHECK(at("workspace") == at("instance") + 1);
  // The kinds and breakdown fields offered are those of the selected workspaces.
  for (const char* name : {"kind", "breakdown_field"}) {
    CAPTURE(name);
    const json* dependent = FindVariable(dashboard, name);
    REQUIRE(dependent != nullptr);
    CHECK(dependent->value("definition", "").find(R"(workspace=~"$workspace")") !=
          std::string::npos);
    CHECK(at(name) > at("workspace"));
  }
}

TEST_CASE("the families without a workspace label are documented ones") {
  std::map<std::string, SeriesDoc> documented = DocumentedSeries(ReadText(SourcePath("README.md")));
  for (const std::string& name : ProcessSeries()) {
    CAPTURE(name);
    CHECK(documented.count(name) == 1);
  }
}

TEST_CASE("every panel is of a current type and has a unit") {
  json dashboard = LoadDashboard();
  int panels = 0;
  ForEachPanel(dashboard["panels"], [&](const json& panel) {
    ++panels;
    CAPTURE(panel.value("title", ""));
    CHECK(AllowedPanelTypes().count(panel.value("type", "")) == 1);
    const json& defaults = panel["fieldConfig"]["defaults"];
    CHECK(defaults.is_object());
    CHECK_FALSE(defaults.value("unit", "").empty());
  });
  CHECK(panels >= 10);
}

TEST_CASE("panel titles are unique, so that a query is known by its title and refId") {
  json dashboard = LoadDashboard();
  std::set<std::string> titles;
  ForEachPanel(dashboard["panels"], [&](const json& panel) {
    std::string title = panel.value("title", "");
    CAPTURE(title);
    CHECK_FALSE(title.empty());
    CHECK(titles.insert(title).second);
  });
}

TEST_CASE("every panel and query uses the datasource variable") {
  json dashboard = LoadDashboard();
  ForEachPanel(dashboard["panels"], [&](const json& panel) {
    CAPTURE(panel.value("title", ""));
    CHECK(UsesDatasourceVariable(panel));
    REQUIRE(panel.contains("targets"));
    CHECK(panel["targets"].size() >= 1);
    for (const json& target : panel["targets"]) {
      CAPTURE(target.value("refId", ""));
      CHECK(UsesDatasourceVariable(target));
      CHECK_FALSE(target.value("expr", "").empty());
    }
  });
}

TEST_CASE("panels fit the 24-column grid without overlapping, with unique ids") {
  json dashboard = LoadDashboard();
  struct Box {
    std::string title;
    int x, y, w, h;
  };
  std::vector<Box> boxes;
  std::set<int> ids;
  for (const json& panel : dashboard["panels"]) {
    CAPTURE(panel.value("title", ""));
    CHECK(ids.insert(panel.value("id", -1)).second);
    const json& grid = panel["gridPos"];
    Box box{panel.value("title", ""), grid.value("x", -1), grid.value("y", -1), grid.value("w", 0),
            grid.value("h", 0)};
    CHECK(box.x >= 0);
    CHECK(box.y >= 0);
    CHECK(box.w >= 1);
    CHECK(box.h >= 1);
    CHECK(box.x + box.w <= 24);
    for (const Box& other : boxes) {
      bool overlap = box.x < other.x + other.w && other.x < box.x + box.w &&
                     box.y < other.y + other.h && other.y < box.y + box.h;
      CHECK_MESSAGE(!overlap, box.title << " overlaps " << other.title);
    }
    boxes.push_back(box);
  }
}

TEST_CASE("rate, irate and increase use $__rate_interval") {
  json dashboard = LoadDashboard();
  int rates = 0;
  ForEachQuery(
      dashboard, [&](const std::string& title, const std::string& ref, const std::string& expr) {
        for (const Call& call : Calls(expr)) {
          if (call.function != "rate" && call.function != "irate" && call.function != "increase") {
            continue;
          }
          ++rates;
          CAPTURE(title);
          CAPTURE(ref);
          CAPTURE(call.args);
          CHECK(Ranges(call.args) == std::vector<std::string>{"$__rate_interval"});
        }
      });
  CHECK(rates >= 1);
}

// A matcher on a label the series lacks would empty the panel whenever the variable is not All:
// `up` and the exporter process's own families have no workspace.
TEST_CASE(
    "every selector filters job and instance, and kind and workspace where the series has them") {
  json dashboard = LoadDashboard();
  std::map<std::string, SeriesDoc> documented = DocumentedSeries(ReadText(SourcePath("README.md")));
  REQUIRE_MESSAGE(!documented.empty(), "no metric table under '## Metrics' in README.md");
  PromqlExprs rules = RuleExprs(SourcePath(kRulesPath));
  REQUIRE_MESSAGE(rules.ok(), rules.error);
  std::set<std::string> with_kind = SeriesWithKind(documented, rules.exprs);
  std::set<std::string> with_workspace =
      SeriesWithLabel(WithWorkspaces(documented), rules.exprs, "workspace");
  int workspace_matchers = 0;
  ForEachQuery(
      dashboard, [&](const std::string& title, const std::string& ref, const std::string& expr) {
        CAPTURE(title);
        CAPTURE(ref);
        std::vector<Selector> selectors = Selectors(expr);
        CHECK(selectors.size() >= 1);
        for (const Selector& selector : selectors) {
          CAPTURE(selector.metric);
          CHECK(HasMatcher(selector, "job", "$job"));
          CHECK(HasMatcher(selector, "instance", "$instance"));
          CHECK(HasMatcher(selector, "kind", "$kind") == (with_kind.count(selector.metric) == 1));
          bool has_workspace = HasMatcher(selector, "workspace", "$workspace");
          CHECK(has_workspace == (with_workspace.count(selector.metric) == 1));
          workspace_matchers += has_workspace;
        }
      });
  CHECK(workspace_matchers >= 10);
}

TEST_CASE("the dashboard shows the exporter target's scrape health, not only creatify_up") {
  json dashboard = LoadDashboard();
  bool found = false;
  ForEachPanel(dashboard["panels"], [&](const json& panel) {
    if (panel.value("title", "") != "Exporter target up") return;
    found = true;
    CHECK((panel.value("type", "") == "stat" || panel.value("type", "") == "state-timeline"));
    REQUIRE(panel["targets"].size() == 1);
    std::vector<Selector> selectors = Selectors(panel["targets"][0].value("expr", ""));
    REQUIRE(selectors.size() == 1);
    CHECK(selectors[0].metric == "up");
  });
  CHECK(found);
}

TEST_CASE("the dashboard reads only documented series and recording rules of rules.yaml") {
  json dashboard = LoadDashboard();
  std::map<std::string, SeriesDoc> documented = DocumentedSeries(ReadText(SourcePath("README.md")));
  REQUIRE(!documented.empty());
  PromqlExprs rules = RuleExprs(SourcePath(kRulesPath));
  REQUIRE_MESSAGE(rules.ok(), rules.error);
  std::set<std::string> recorded;
  for (const PromqlExpr& rule : rules.exprs) {
    if (!rule.alert) recorded.insert(rule.name);
  }
  ForEachQuery(dashboard,
               [&](const std::string& title, const std::string& ref, const std::string& expr) {
                 for (const Selector& selector : Selectors(expr)) {
                   CAPTURE(title);
                   CAPTURE(ref);
                   CAPTURE(selector.metric);
                   // Besides the exporter's series, Prometheus' own `up` of the exporter's targets:
                   // the only way to show that the exporter itself cannot be scraped. The job
                   // matcher, checked above, keeps it to the exporter's jobs.
                   CHECK((documented.count(selector.metric) == 1 ||
                          recorded.count(selector.metric) == 1 || selector.metric == "up"));
                 }
               });
}

TEST_CASE("the datasource provisioning names a Prometheus with uid prometheus") {
  YAML::Node root;
  REQUIRE_NOTHROW(
      root = YAML::LoadFile(SourcePath("grafana/provisioning/datasources/prometheus.yaml")));
  CHECK(root["apiVersion"].as<int>(0) == 1);
  REQUIRE(root["datasources"].IsSequence());
  REQUIRE(root["datasources"].size() == 1);
  YAML::Node ds = root["datasources"][0];
  CHECK(ds["type"].as<std::string>("") == "prometheus");
  CHECK(ds["uid"].as<std::string>("") == "prometheus");
  CHECK(ds["url"].as<std::string>("") == "http://prometheus:9090");
  CHECK(ds["access"].as<std::string>("") == "proxy");
}

TEST_CASE("the dashboard provisioning loads files from /var/lib/grafana/dashboards") {
  YAML::Node root;
  REQUIRE_NOTHROW(root =
                      YAML::LoadFile(SourcePath("grafana/provisioning/dashboards/creatify.yaml")));
  CHECK(root["apiVersion"].as<int>(0) == 1);
  REQUIRE(root["providers"].IsSequence());
  REQUIRE(root["providers"].size() == 1);
  YAML::Node provider = root["providers"][0];
  CHECK(provider["type"].as<std::string>("") == "file");
  CHECK(provider["options"]["path"].as<std::string>("") == "/var/lib/grafana/dashboards");
}

}  // namespace
}  // namespace deploy_prometheus
