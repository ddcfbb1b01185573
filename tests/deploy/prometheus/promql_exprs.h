// The PromQL expressions of the shipped Grafana dashboard and Prometheus rules, read from their
// files so that tests can hand them to promtool or evaluate them against a live Prometheus.
// Pure functions of their arguments and the files they read; safe to call from any thread.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace deploy_prometheus {

// The shipped files, relative to the root of the source tree.
inline constexpr std::string_view kDashboardPath = "grafana/dashboards/creatify-overview.json";
inline constexpr std::string_view kRulesPath = "deploy/prometheus/rules.yaml";

struct PromqlExpr {
  // Dashboard: the panel's title. Rules: the alert's name or the recorded metric's name.
  std::string name;
  // Dashboard: the query's refId ("A", "B", ...). Rules: empty.
  std::string ref_id;
  // Dashboard: with Grafana's variables replaced (see SubstituteGrafanaVariables). Rules: as
  // written.
  std::string expr;
  // Rules: true for an alerting rule, false for a recording rule. Dashboard: false.
  bool alert = false;
};

struct PromqlExprs {
  // In file order: panels top to bottom as listed (rows' nested panels included), queries in
  // their order; rule groups and rules in their order.
  std::vector<PromqlExpr> exprs;
  // Empty on success, else one line: "<path>: <what is wrong>".
  std::string error;

  bool ok() const { return error.empty(); }
};

// Every query that has an `expr` in the dashboard at `path`. Template-variable queries are not
// included. Never throws.
PromqlExprs DashboardExprs(const std::string& path);

// Every rule of the Prometheus rule file at `path`. Never throws.
PromqlExprs RuleExprs(const std::string& path);

// Replaces the Grafana variables a dashboard query may use with values Prometheus accepts:
// $__rate_interval and $__interval -> 1m, $__range -> 5m, $kind, $instance, $job and $workspace
// (also written ${kind} or ${kind:<format>}) -> .* (each variable's "All"), $breakdown_field ->
// model_version. Any other variable, $datasource included, stays as written.
std::string SubstituteGrafanaVariables(std::string_view expr);

}  // namespace deploy_prometheus
