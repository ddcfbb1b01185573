// A small PromQL scanner for the dashboard and rule checks: finds the vector selectors, function
// calls and grouping clauses of an expression without a full parser. It assumes an expression
// promtool accepts (the CTest check "deploy/prometheus/dashboard-promql" makes sure of that) and
// tolerates Grafana variables in it. Pure functions; safe to call from any thread.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace deploy_prometheus {

struct LabelMatcher {
  std::string label;
  std::string op;  // "=", "!=", "=~" or "!~"
  std::string value;
};

struct Selector {
  std::string metric;  // empty for a selector written as {...} only
  std::vector<LabelMatcher> matchers;
};

struct Call {
  std::string function;
  // The text between the call's parentheses.
  std::string args;
};

struct Grouping {
  std::string keyword;  // by, without, on, ignoring, group_left or group_right
  std::vector<std::string> labels;
};

// Every vector selector, in order of appearance.
std::vector<Selector> Selectors(std::string_view expr);

// Every function or aggregation call, outer ones before the calls in their arguments.
std::vector<Call> Calls(std::string_view expr);

// Every grouping and vector-matching clause.
std::vector<Grouping> Groupings(std::string_view expr);

// The contents of every [...] (ranges and subqueries) in `text`, e.g. "5m" or "$__rate_interval".
std::vector<std::string> Ranges(std::string_view text);

}  // namespace deploy_prometheus
