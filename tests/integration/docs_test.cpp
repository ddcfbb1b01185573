// The README's metric table and the live /metrics name the same families with the same types and
// the same labels.
#include <doctest/doctest.h>

#include <fstream>
#include <regex>
#include <set>
#include <sstream>

#include "creatify/kind.h"
#include "integration/harness.h"

namespace {

struct Row {
  std::string type;
  std::set<std::string> labels;
};

// From rows "| `creatify_...` | type | `label`, `label` | meaning |" of the README.
std::map<std::string, Row> ReadmeTable() {
  std::ifstream in(std::string(CREATIFY_SOURCE_DIR) + "/README.md");
  static const std::regex kRow(R"(^\|\s*`(creatify_[a-z_]+)`\s*\|\s*([a-z]+)\s*\|([^|]*)\|)");
  static const std::regex kLabel("`([a-z_]+)`");
  std::map<std::string, Row> table;
  std::string line;
  while (std::getline(in, line)) {
    std::smatch match;
    if (!std::regex_search(line, match, kRow)) continue;
    Row row{match[2], {}};
    const std::string labels = match[3];
    for (std::sregex_iterator it(labels.begin(), labels.end(), kLabel), end; it != end; ++it) {
      row.labels.insert((*it)[1]);
    }
    table[match[1]] = row;
  }
  return table;
}

// The family a sample belongs to: histograms add _bucket, _sum and _count to theirs.
std::string FamilyOf(const testsupport::Exposition& live, const std::string& sample) {
  for (const char* suffix : {"_bucket", "_sum", "_count"}) {
    std::string s(suffix);
    if (sample.size() > s.size() && sample.ends_with(s)) {
      std::string base = sample.substr(0, sample.size() - s.size());
      auto it = live.types.find(base);
      if (it != live.types.end() && it->second == "histogram") return base;
    }
  }
  return sample;
}

}  // namespace

TEST_CASE(
    "every family in the README table is on /metrics, and every family on /metrics is in it") {
  auto table = ReadmeTable();
  REQUIRE(table.size() >= 20);

  // Fast jobs (so that finished ones have a video duration), some malformed answers (so that
  // the invalid-field counter has series) and a state file (so that the last write has a time):
  // every family of the table then has samples.
  testsupport::TempDir dir;
  e2e::Simulator simulator(
      dir, {"--seed=4", "--stage-duration=100ms", "--aurora-jobs=3", "--fault-malformed=0.3",
            // Jobs created while the exporter watches: counted, so the breakdown has samples.
            "--aurora-spawn-interval=200ms", "--max-aurora-jobs=12"});
  // An ids file (with a line that is not an id) and a webhook token, for the discovery families.
  testsupport::WriteFile(dir.File("aurora.ids"), "not an id\n");
  e2e::Exporter exporter(
      dir, e2e::WithState(e2e::ConfigFor(simulator.port, simulator.Ids("ads_clone"),
                                         simulator.Ids("custom_template"),
                                         "  ids_file: " + dir.File("aurora.ids") +
                                             "\n  discover: true\n"
                                             "webhook:\n  token: docs-test-token-0123456789\n"
                                             "breakdown:\n  fields: [model_version, "
                                             "failed_reason]\n"),
                          dir.File("state.db")));
  // With shards and a peer URL, for the forwarding families (shown only then), and a web config
  // (that asks for nothing), for its reload families (shown only with one).
  testsupport::TempDir sharded_dir;
  testsupport::WriteFile(sharded_dir.File("web.yml"), "# plain HTTP, no users\n");
  e2e::Exporter sharded(
      sharded_dir,
      e2e::ConfigFor(simulator.port, {}, {}, "webhook:\n  token: docs-test-token-0123456789\n"),
      {"--total-shards=2", "--shard=0", "--shard.peer-url=http://127.0.0.1:1/{shard}",
       "--web.config.file=" + sharded_dir.File("web.yml")});
  // The first exporter's families, and those only the sharded one has.
  auto both = [&] {
    testsupport::Exposition out = exporter.Metrics();
    const testsupport::Exposition more = sharded.Metrics();
    for (const auto& [name, type] : more.types) {
      if (out.types.contains(name)) continue;
      out.types[name] = type;
      for (const auto& sample : more.samples) {
        if (FamilyOf(more, sample.name) == name) out.samples.push_back(sample);
      }
    }
    return out;
  };
  testsupport::Exposition live;
  auto every_family_has_samples = [&] {
    live = both();
    std::set<std::string> seen;
    for (const auto& sample : live.samples) seen.insert(FamilyOf(live, sample.name));
    for (const auto& [name, row] : table) {
      if (!seen.contains(name)) return false;
    }
    return true;
  };
  testsupport::WaitFor(every_family_has_samples, std::chrono::seconds(30));

  for (const auto& [name, row] : table) {
    auto it = live.types.find(name);
    CHECK_MESSAGE(it != live.types.end(), name, " is in the README but not on /metrics");
    if (it != live.types.end()) CHECK_MESSAGE(it->second == row.type, name);
  }
  for (const auto& [name, type] : live.types) {
    CHECK_MESSAGE(table.contains(name), name, " is on /metrics but not in the README");
  }

  // The labels of each family's live series are the ones its row lists (le aside).
  std::map<std::string, std::set<std::string>> live_labels;
  for (const auto& sample : live.samples) {
    auto& labels = live_labels[FamilyOf(live, sample.name)];
    for (const auto& [label, value] : sample.labels) {
      if (label != "le") labels.insert(label);
    }
    CHECK_MESSAGE(!sample.labels.contains("job"), sample.name, " has a label named job");
  }
  for (const auto& [name, row] : table) {
    auto it = live_labels.find(name);
    CHECK_MESSAGE(it != live_labels.end(), name, " has no sample on /metrics");
    if (it == live_labels.end()) continue;
    for (const auto& label : row.labels) {
      CHECK_MESSAGE(it->second.contains(label), name, ": label ", label,
                    " is in the README but on no series");
    }
    for (const auto& label : it->second) {
      CHECK_MESSAGE(row.labels.contains(label), name, ": label ", label,
                    " is on /metrics but not in the README");
    }
  }
}

TEST_CASE(
    "the README's kind table has a row for every built-in kind, and its keys are documented") {
  std::ifstream in(std::string(CREATIFY_SOURCE_DIR) + "/README.md");
  std::stringstream buffer;
  buffer << in.rdbuf();
  const std::string readme = buffer.str();
  for (const auto& kind : creatify::BuiltinKinds()) {
    CAPTURE(kind.name);
    const std::string row = "| `" + kind.name + "` | `" + kind.config_key + "` | `" + kind.path +
                            "` | " + (kind.list ? "yes" : "no") + " | ";
    CHECK(readme.find(row) != std::string::npos);
    const std::string scale = std::string(creatify::ProgressScaleName(kind.progress_scale));
    CHECK(readme.find(row +
                      (kind.statuses == creatify::StandardStatusWords() ? "standard | " : "")) !=
          std::string::npos);
    std::string labels;
    for (const auto& field : kind.info_fields)
      labels += (labels.empty() ? "`" : ", `") + field + "`";
    if (labels.empty()) labels = "(none)";
    CHECK(readme.find(" | " + scale + " | " + labels + " |\n") != std::string::npos);
    CHECK(readme.find("`" + kind.config_key + "`") != std::string::npos);
  }
  for (const char* key : {"| `custom_kinds` |", "`<kind section>.progress_scale`", "### Job kinds",
                          "### Custom kinds"}) {
    CAPTURE(key);
    CHECK(readme.find(key) != std::string::npos);
  }
}
