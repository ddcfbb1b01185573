#include "deploy/prometheus/promql_exprs.h"

#include <yaml-cpp/yaml.h>

#include <exception>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

namespace deploy_prometheus {
namespace {

bool ReadFile(const std::string& path, std::string* text) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return false;
  std::ostringstream buffer;
  buffer << in.rdbuf();
  *text = buffer.str();
  return !in.bad();
}

bool IsNameChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

// The value a variable takes in the expressions handed to Prometheus, or nullptr to keep it.
const char* Replacement(std::string_view name) {
  static const std::map<std::string_view, const char*> kValues = {
      {"__rate_interval", "1m"},
      {"__interval", "1m"},
      {"__range", "5m"},
      // The variables' "All".
      {"kind", ".*"},
      {"instance", ".*"},
      {"job", ".*"},
      {"workspace", ".*"},
      {"breakdown_field", "model_version"},
  };
  auto it = kValues.find(name);
  return it == kValues.end() ? nullptr : it->second;
}

// Collects the queries of `panels`, descending into collapsed rows, which hold their panels.
void CollectPanels(const nlohmann::json& panels, std::vector<PromqlExpr>* out) {
  if (!panels.is_array()) return;
  for (const auto& panel : panels) {
    if (!panel.is_object()) continue;
    std::string title = panel.value("title", std::string());
    auto targets = panel.find("targets");
    if (targets != panel.end() && targets->is_array()) {
      for (const auto& target : *targets) {
        if (!target.is_object()) continue;
        auto expr = target.find("expr");
        if (expr == target.end() || !expr->is_string()) continue;
        out->push_back(PromqlExpr{title, target.value("refId", std::string()),
                                  SubstituteGrafanaVariables(expr->get<std::string>()), false});
      }
    }
    auto nested = panel.find("panels");
    if (nested != panel.end()) CollectPanels(*nested, out);
  }
}

}  // namespace

std::string SubstituteGrafanaVariables(std::string_view expr) {
  std::string out;
  out.reserve(expr.size());
  size_t i = 0;
  while (i < expr.size()) {
    if (expr[i] != '$') {
      out += expr[i++];
      continue;
    }
    // ${name} or ${name:format}
    if (i + 1 < expr.size() && expr[i + 1] == '{') {
      size_t close = expr.find('}', i + 2);
      if (close != std::string_view::npos) {
        std::string_view inside = expr.substr(i + 2, close - i - 2);
        std::string_view name = inside.substr(0, inside.find(':'));
        if (const char* value = Replacement(name)) {
          out += value;
          i = close + 1;
          continue;
        }
      }
      out += expr[i++];
      continue;
    }
    // $name: the longest run of name characters, so $__interval_ms is not $__interval.
    size_t end = i + 1;
    while (end < expr.size() && IsNameChar(expr[end])) ++end;
    if (const char* value = Replacement(expr.substr(i + 1, end - i - 1))) {
      out += value;
    } else {
      out.append(expr.substr(i, end - i));
    }
    i = end;
  }
  return out;
}

PromqlExprs DashboardExprs(const std::string& path) {
  PromqlExprs result;
  std::string text;
  if (!ReadFile(path, &text)) {
    result.error = path + ": cannot read";
    return result;
  }
  try {
    nlohmann::json dashboard = nlohmann::json::parse(text);
    if (!dashboard.is_object() || !dashboard.contains("panels")) {
      result.error = path + ": not a dashboard (no \"panels\")";
      return result;
    }
    CollectPanels(dashboard["panels"], &result.exprs);
  } catch (const std::exception& e) {
    result.exprs.clear();
    result.error = path + ": " + e.what();
  }
  return result;
}

PromqlExprs RuleExprs(const std::string& path) {
  PromqlExprs result;
  try {
    YAML::Node root = YAML::LoadFile(path);
    YAML::Node groups = root["groups"];
    if (!groups.IsSequence()) {
      result.error = path + ": not a rule file (no \"groups\" list)";
      return result;
    }
    for (const auto& group : groups) {
      for (const auto& rule : group["rules"]) {
        PromqlExpr expr;
        expr.alert = static_cast<bool>(rule["alert"]);
        expr.name = (expr.alert ? rule["alert"] : rule["record"]).as<std::string>("");
        expr.expr = rule["expr"].as<std::string>("");
        result.exprs.push_back(std::move(expr));
      }
    }
  } catch (const YAML::BadFile&) {
    result.exprs.clear();
    result.error = path + ": cannot read";
  } catch (const std::exception& e) {
    result.exprs.clear();
    result.error = path + ": " + e.what();
  }
  return result;
}

}  // namespace deploy_prometheus
