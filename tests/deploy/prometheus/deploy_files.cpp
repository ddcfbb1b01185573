#include "deploy/prometheus/deploy_files.h"

#include <algorithm>
#include <cctype>
#include <fstream>
#include <sstream>

#include "deploy/prometheus/promql_scan.h"

namespace deploy_prometheus {
namespace {

std::string_view Trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

std::vector<std::string_view> Lines(std::string_view text) {
  std::vector<std::string_view> lines;
  while (!text.empty()) {
    size_t end = text.find('\n');
    lines.push_back(text.substr(0, end));
    if (end == std::string_view::npos) break;
    text.remove_prefix(end + 1);
  }
  return lines;
}

// Every `quoted` word of a table cell.
std::vector<std::string> BacktickWords(std::string_view cell) {
  std::vector<std::string> words;
  size_t open = cell.find('`');
  while (open != std::string_view::npos) {
    size_t close = cell.find('`', open + 1);
    if (close == std::string_view::npos) break;
    words.emplace_back(cell.substr(open + 1, close - open - 1));
    open = cell.find('`', close + 1);
  }
  return words;
}

}  // namespace

std::string SourcePath(std::string_view relative) {
  return std::string(CREATIFY_SOURCE_DIR) + "/" + std::string(relative);
}

std::string ReadText(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

std::map<std::string, SeriesDoc> DocumentedSeries(std::string_view readme) {
  std::map<std::string, SeriesDoc> series;
  bool in_section = false;
  for (std::string_view line : Lines(readme)) {
    if (line.rfind("## ", 0) == 0) {
      in_section = Trim(line.substr(3)) == "Metrics";
      continue;
    }
    if (!in_section || line.rfind("| `", 0) != 0) continue;
    // | `name` | type | `label`, `label` | meaning |
    std::vector<std::string_view> cells;
    std::string_view rest = line.substr(1);
    for (size_t bar = rest.find('|'); bar != std::string_view::npos; bar = rest.find('|')) {
      cells.push_back(Trim(rest.substr(0, bar)));
      rest.remove_prefix(bar + 1);
    }
    if (cells.size() < 3) continue;
    std::vector<std::string> names = BacktickWords(cells[0]);
    if (names.size() != 1) continue;
    SeriesDoc doc{std::string(cells[1]), {}};
    for (auto& label : BacktickWords(cells[2])) doc.labels.insert(label);
    if (doc.type == "histogram") {
      SeriesDoc bucket = doc;
      bucket.labels.insert("le");
      series[names[0] + "_bucket"] = bucket;
      series[names[0] + "_sum"] = doc;
      series[names[0] + "_count"] = doc;
    } else {
      series[names[0]] = doc;
    }
  }
  return series;
}

std::set<std::string> SeriesWithLabel(const std::map<std::string, SeriesDoc>& documented,
                                      const std::vector<PromqlExpr>& rules,
                                      std::string_view label) {
  std::set<std::string> with_label;
  for (const auto& [name, doc] : documented) {
    if (doc.labels.count(std::string(label))) with_label.insert(name);
  }
  for (const PromqlExpr& rule : rules) {
    if (rule.alert) continue;
    bool reads_label = false;
    for (const Selector& selector : Selectors(rule.expr)) {
      reads_label = reads_label || with_label.count(selector.metric) > 0;
    }
    bool keeps_label = true;
    for (const Grouping& grouping : Groupings(rule.expr)) {
      bool names_label =
          std::find(grouping.labels.begin(), grouping.labels.end(), label) != grouping.labels.end();
      if (grouping.keyword == "by" && !names_label) keeps_label = false;
      if (grouping.keyword == "without" && names_label) keeps_label = false;
    }
    if (reads_label && keeps_label) with_label.insert(rule.name);
  }
  return with_label;
}

std::set<std::string> SeriesWithKind(const std::map<std::string, SeriesDoc>& documented,
                                     const std::vector<PromqlExpr>& rules) {
  return SeriesWithLabel(documented, rules, "kind");
}

const std::set<std::string>& ProcessSeries() {
  static const std::set<std::string> kSeries = {
      "creatify_exporter_build_info",
      "creatify_exporter_shard_info",
      "creatify_exporter_state_restored",
      "creatify_exporter_state_write_errors_total",
      "creatify_exporter_state_last_write_timestamp_seconds",
      "creatify_exporter_config_last_reload_successful",
      "creatify_exporter_config_last_reload_success_timestamp_seconds",
      "creatify_exporter_web_config_last_reload_successful",
      "creatify_exporter_web_config_last_reload_success_timestamp_seconds",
      "creatify_exporter_render_seconds",
      "creatify_exporter_webhook_forwards_waiting",
  };
  return kSeries;
}

std::map<std::string, SeriesDoc> WithWorkspaces(std::map<std::string, SeriesDoc> documented) {
  for (auto& [name, doc] : documented) {
    if (ProcessSeries().count(name) == 0) doc.labels.insert("workspace");
  }
  return documented;
}

std::string GithubAnchor(std::string_view heading) {
  std::string anchor;
  for (char c : Trim(heading)) {
    unsigned char u = static_cast<unsigned char>(c);
    if (std::isalnum(u) || c == '-' || c == '_') {
      anchor += static_cast<char>(std::tolower(u));
    } else if (c == ' ') {
      anchor += '-';
    }
  }
  return anchor;
}

std::vector<std::string> SectionHeadings(std::string_view markdown) {
  std::vector<std::string> headings;
  bool in_code = false;
  for (std::string_view line : Lines(markdown)) {
    if (line.rfind("```", 0) == 0) in_code = !in_code;
    if (!in_code && line.rfind("## ", 0) == 0) headings.emplace_back(Trim(line.substr(3)));
  }
  return headings;
}

}  // namespace deploy_prometheus
