// Reading of the shipped observability files (README metric table, runbook headings) for the
// deploy checks. Pure functions of their arguments and the files they read; thread-safe.
#pragma once

#include <map>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "deploy/prometheus/promql_exprs.h"

namespace deploy_prometheus {

// `relative` under the root of the source tree.
std::string SourcePath(std::string_view relative);

// The whole file, or an empty string when it cannot be read (the checks then fail on content).
std::string ReadText(const std::string& path);

struct SeriesDoc {
  std::string type;  // counter, gauge or histogram, as the README says
  std::set<std::string> labels;
};

// The series of the metric table in the "## Metrics" section of README.md, by name; a histogram
// `x` yields x_bucket (with `le`), x_sum and x_count. Empty when there is no such table.
std::map<std::string, SeriesDoc> DocumentedSeries(std::string_view readme);

// The names of the series that carry `label`: documented ones whose row lists it, and recorded
// ones whose expression reads such a series without aggregating `label` away. `rules` in file
// order.
std::set<std::string> SeriesWithLabel(const std::map<std::string, SeriesDoc>& documented,
                                      const std::vector<PromqlExpr>& rules, std::string_view label);

// SeriesWithLabel(documented, rules, "kind").
std::set<std::string> SeriesWithKind(const std::map<std::string, SeriesDoc>& documented,
                                     const std::vector<PromqlExpr>& rules);

// The documented families that have no `workspace` label even when the exporter runs with
// `workspaces:`: those of the exporter process itself (build, shard, state file, configuration,
// rendering, the webhook forwarding queue). Every other family of the README's metric table
// carries it (see "Several workspaces" in the README).
const std::set<std::string>& ProcessSeries();

// `documented` as an exporter with `workspaces:` shows it: `workspace` added to the labels of
// every series but ProcessSeries().
std::map<std::string, SeriesDoc> WithWorkspaces(std::map<std::string, SeriesDoc> documented);

// The anchor GitHub gives a Markdown heading: lower case, punctuation other than '-' and '_'
// dropped, spaces turned into '-'.
std::string GithubAnchor(std::string_view heading);

// The text of every level-2 heading ("## ...") of a Markdown document, in order.
std::vector<std::string> SectionHeadings(std::string_view markdown);

}  // namespace deploy_prometheus
