// The README's metric table and the live /metrics name the same families with the same types.
#include <doctest/doctest.h>

#include <fstream>
#include <regex>
#include <set>

#include "integration/harness.h"

namespace {

// `name` -> type, from rows "| `creatify_...` | type | ..." of the README.
std::map<std::string, std::string> ReadmeTable() {
  std::ifstream in(std::string(CREATIFY_SOURCE_DIR) + "/README.md");
  static const std::regex kRow(R"(^\|\s*`(creatify_[a-z_]+)`\s*\|\s*([a-z]+)\s*\|)");
  std::map<std::string, std::string> table;
  std::string line;
  while (std::getline(in, line)) {
    std::smatch match;
    if (std::regex_search(line, match, kRow)) table[match[1]] = match[2];
  }
  return table;
}

}  // namespace

TEST_CASE(
    "every family in the README table is on /metrics, and every family on /metrics is in it") {
  auto table = ReadmeTable();
  REQUIRE(table.size() >= 20);

  testsupport::TempDir dir;
  e2e::Simulator simulator(dir, {"--seed=4", "--stage-duration=100ms", "--aurora-jobs=3"});
  e2e::Exporter exporter(dir, e2e::ConfigFor(simulator.port, simulator.Ids("ads_clone"),
                                             simulator.Ids("custom_template")));
  REQUIRE(testsupport::WaitFor([&] { return exporter.Metrics().Value("creatify_up") == 1; },
                               std::chrono::seconds(20)));
  auto live = exporter.Metrics();

  for (const auto& [name, type] : table) {
    auto it = live.types.find(name);
    CHECK_MESSAGE(it != live.types.end(), name, " is in the README but not on /metrics");
    if (it != live.types.end()) CHECK_MESSAGE(it->second == type, name);
  }
  for (const auto& [name, type] : live.types) {
    CHECK_MESSAGE(table.contains(name), name, " is on /metrics but not in the README");
  }
  // The labels in the table match the live series.
  for (const auto& sample : live.samples) {
    CHECK_MESSAGE(!sample.labels.contains("job"), sample.name, " has a label named job");
  }
}
