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

// The names of the series that carry a `kind` label: documented ones, and recorded ones whose
// expression reads such a series without aggregating `kind` away. `rules` in file order.
std::set<std::string> SeriesWithKind(const std::map<std::string, SeriesDoc>& documented,
                                     const std::vector<PromqlExpr>& rules);

// The anchor GitHub gives a Markdown heading: lower case, punctuation other than '-' and '_'
// dropped, spaces turned into '-'.
std::string GithubAnchor(std::string_view heading);

// The text of every level-2 heading ("## ...") of a Markdown document, in order.
std::vector<std::string> SectionHeadings(std::string_view markdown);

}  // namespace deploy_prometheus
