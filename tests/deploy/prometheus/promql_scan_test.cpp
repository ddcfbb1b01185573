#include "deploy/prometheus/promql_scan.h"

#include <doctest/doctest.h>

#include "deploy/prometheus/deploy_files.h"

namespace deploy_prometheus {
namespace {

TEST_CASE("Selectors finds metrics and their matchers, not functions, keywords or labels") {
  auto selectors = Selectors(
      R"q(sum by (kind, status) (rate(creatify_jobs_completed_total{instance=~"$instance", )q"
      R"q(kind=~"$kind"}[$__rate_interval])) / on (kind) group_left (status) up )q"
      R"q(and {__name__="x", job!~"a|b}"} or label_replace(vector(0), "code", "none", "", "") )q"
      R"q(> bool 1 unless creatify:jobs_failed:ratio_rate30m offset 5m # up{job="x"})q");
  REQUIRE(selectors.size() == 4);
  CHECK(selectors[0].metric == "creatify_jobs_completed_total");
  REQUIRE(selectors[0].matchers.size() == 2);
  CHECK(selectors[0].matchers[0].label == "instance");
  CHECK(selectors[0].matchers[0].op == "=~");
  CHECK(selectors[0].matchers[0].value == "$instance");
  CHECK(selectors[0].matchers[1].label == "kind");
  CHECK(selectors[0].matchers[1].value == "$kind");
  CHECK(selectors[1].metric == "up");
  CHECK(selectors[1].matchers.empty());
  CHECK(selectors[2].metric.empty());
  REQUIRE(selectors[2].matchers.size() == 2);
  CHECK(selectors[2].matchers[1].op == "!~");
  CHECK(selectors[2].matchers[1].value == "a|b}");
  CHECK(selectors[3].metric == "creatify:jobs_failed:ratio_rate30m");
}

TEST_CASE("Calls gives each call's arguments, aggregations with a leading clause included") {
  auto calls =
      Calls(R"(histogram_quantile(0.95, sum by (le) (rate(x_bucket{a="("}[$__rate_interval]))) )"
            R"(+ sum(increase(y[5m])) without (z))");
  REQUIRE(calls.size() == 5);
  CHECK(calls[0].function == "histogram_quantile");
  CHECK(calls[1].function == "sum");
  CHECK(calls[1].args == R"(rate(x_bucket{a="("}[$__rate_interval]))");
  CHECK(calls[2].function == "rate");
  CHECK(calls[2].args == R"(x_bucket{a="("}[$__rate_interval])");
  CHECK(calls[3].function == "sum");
  CHECK(calls[4].function == "increase");
  CHECK(Ranges(calls[2].args) == std::vector<std::string>{"$__rate_interval"});
  CHECK(Ranges(calls[4].args) == std::vector<std::string>{"5m"});
}

TEST_CASE("Groupings lists by, without and matching clauses with their labels") {
  auto groupings = Groupings(
      "sum without (status) (a) / on (job, instance) group_left (code) sum by (job, instance) (b)");
  REQUIRE(groupings.size() == 4);
  CHECK(groupings[0].keyword == "without");
  CHECK(groupings[0].labels == std::vector<std::string>{"status"});
  CHECK(groupings[1].keyword == "on");
  CHECK(groupings[2].keyword == "group_left");
  CHECK(groupings[2].labels == std::vector<std::string>{"code"});
  CHECK(groupings[3].labels == std::vector<std::string>{"job", "instance"});
}

TEST_CASE("DocumentedSeries reads the Metrics table and expands histograms") {
  auto series = DocumentedSeries(
      "# x\n\n## Metrics\n\n| name | type | labels | meaning |\n|---|---|---|---|\n"
      "| `a_total` | counter | `kind`, `status` | A. |\n"
      "| `b_seconds` | histogram | `kind` | B. |\n"
      "| `c` | gauge | | C. |\n\n## Other\n\n| `d` | gauge | `kind` | not a metric |\n");
  REQUIRE(series.size() == 5);
  CHECK(series["a_total"].labels == std::set<std::string>{"kind", "status"});
  CHECK(series["b_seconds_bucket"].labels == std::set<std::string>{"kind", "le"});
  CHECK(series["b_seconds_count"].type == "histogram");
  CHECK(series["c"].labels.empty());
  CHECK(series.count("d") == 0);
}

TEST_CASE("SeriesWithKind follows recording rules that keep or drop kind") {
  std::map<std::string, SeriesDoc> documented = {{"a_total", {"counter", {"kind", "status"}}},
                                                 {"c", {"gauge", {}}}};
  std::vector<PromqlExpr> rules = {
      {"r:a:rate5m", "", "rate(a_total[5m])", false},
      {"r:a_by_status:sum", "", "sum by (status) (r:a:rate5m)", false},
      {"r:a_no_kind:sum", "", "sum without (kind) (r:a:rate5m)", false},
      {"r:a_kind:ratio", "", "sum without (status) (r:a:rate5m) / on (kind) c", false},
      {"r:c:deriv", "", "deriv(c[1h])", false},
      {"AlertOnA", "", "a_total > 0", true},
  };
  CHECK(SeriesWithKind(documented, rules) ==
        std::set<std::string>{"a_total", "r:a:rate5m", "r:a_kind:ratio"});
}

TEST_CASE("SeriesWithLabel and WithWorkspaces") {
  std::map<std::string, SeriesDoc> documented = {
      {"a_total", {"counter", {"kind", "status"}}},
      {"c", {"gauge", {}}},
      {"creatify_exporter_build_info", {"gauge", {"version", "revision"}}}};
  std::vector<PromqlExpr> rules = {
      {"r:a:rate5m", "", "rate(a_total[5m])", false},
      {"r:a_by_kind:sum", "", "sum by (kind) (r:a:rate5m)", false},
      {"r:a_by_workspace:sum", "", "sum by (workspace, kind) (r:a:rate5m)", false},
      {"r:c_no_workspace:max", "", "max without (workspace) (c)", false},
      {"r:build:count", "", "count(creatify_exporter_build_info)", false},
  };
  CHECK(SeriesWithLabel(documented, rules, "status") ==
        std::set<std::string>{"a_total", "r:a:rate5m"});
  std::map<std::string, SeriesDoc> with = WithWorkspaces(documented);
  CHECK(with["a_total"].labels == std::set<std::string>{"kind", "status", "workspace"});
  CHECK(with["c"].labels == std::set<std::string>{"workspace"});
  CHECK(with["creatify_exporter_build_info"].labels ==
        std::set<std::string>{"version", "revision"});
  CHECK(SeriesWithLabel(with, rules, "workspace") ==
        std::set<std::string>{"a_total", "c", "r:a:rate5m", "r:a_by_workspace:sum"});
}

TEST_CASE("GithubAnchor and SectionHeadings") {
  CHECK(GithubAnchor("CreatifyExporterDown") == "creatifyexporterdown");
  CHECK(GithubAnchor(" Credits: low & falling_fast ") == "credits-low--falling_fast");
  CHECK(SectionHeadings("# T\n## A\ntext\n```sh\n## not a heading\n```\n## B c\n### D\n") ==
        std::vector<std::string>{"A", "B c"});
}

}  // namespace
}  // namespace deploy_prometheus
