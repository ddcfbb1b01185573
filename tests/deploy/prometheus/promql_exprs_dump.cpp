// Writes every query of a Grafana dashboard into a Prometheus rule file, one recording rule per
// query, so that `promtool check rules` can parse them:
//   creatify_promql_exprs_dump <dashboard.json> <out.yaml>
// Exit status 0 on success, 1 with a message on stderr otherwise.
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>

#include "deploy/prometheus/promql_exprs.h"

int main(int argc, char** argv) {
  if (argc != 3) {
    std::cerr << "usage: " << argv[0] << " <dashboard.json> <out.yaml>\n";
    return 1;
  }
  deploy_prometheus::PromqlExprs exprs = deploy_prometheus::DashboardExprs(argv[1]);
  if (!exprs.ok()) {
    std::cerr << exprs.error << "\n";
    return 1;
  }
  if (exprs.exprs.empty()) {
    std::cerr << argv[1] << ": no queries found\n";
    return 1;
  }
  std::ofstream out(argv[2]);
  out << "# Generated from " << argv[1] << " by creatify_promql_exprs_dump.\n"
      << "groups:\n  - name: dashboard\n    rules:\n";
  int n = 0;
  for (const auto& expr : exprs.exprs) {
    // A JSON string is a valid YAML double-quoted scalar.
    out << "      # " << nlohmann::json(expr.name + " / " + expr.ref_id).dump() << "\n"
        << "      - record: dashboard_query_" << ++n << "\n"
        << "        expr: " << nlohmann::json(expr.expr).dump() << "\n";
  }
  out.close();
  if (!out) {
    std::cerr << argv[2] << ": cannot write\n";
    return 1;
  }
  return 0;
}
