#include "config/config.h"

#include <yaml-cpp/yaml.h>

#include <utility>

#include "config/parser.h"
#include "config/yaml_file.h"
#include "creatify/kind.h"

namespace config {

void IdList::push_back(std::string id) {
  auto ids = std::make_shared<std::vector<std::string>>(vector());
  ids->push_back(std::move(id));
  ids_ = std::move(ids);
}

const std::vector<std::string>& IdList::Empty() {
  static const std::vector<std::string> empty;
  return empty;
}
namespace {

constexpr std::string_view kDefaultOrdering = "-created_at";
// Guards against being handed a device or a huge file by mistake.
constexpr std::size_t kMaxConfigBytes = 1 << 20;

}  // namespace

KindConfig DefaultKindConfig(const creatify::KindSpec& kind) {
  KindConfig section;
  section.enabled = kind.on_by_default;
  if (kind.list) section.ordering = kDefaultOrdering;
  return section;
}

std::map<std::string, KindConfig, std::less<>> DefaultKinds() {
  std::map<std::string, KindConfig, std::less<>> kinds;
  for (const auto& kind : creatify::BuiltinKinds())
    kinds.emplace(kind.name, DefaultKindConfig(kind));
  return kinds;
}

bool Config::KindEnabled(std::string_view kind) const {
  auto it = kinds.find(kind);
  return creatify::FindKind(kind_table, kind) != nullptr && it != kinds.end() && it->second.enabled;
}

std::vector<std::string> Config::EnabledKinds() const {
  std::vector<std::string> enabled;
  for (const auto& kind : kind_table) {
    if (KindEnabled(kind.name)) enabled.emplace_back(kind.name);
  }
  return enabled;
}

bool Config::KindActive(std::string_view kind) const {
  if (!KindEnabled(kind)) return false;
  const KindConfig& section = kinds.find(kind)->second;
  return creatify::FindKind(kind_table, kind)->list || !section.ids.empty() ||
         !section.ids_file.empty() || !webhook.token.empty();
}

bool Config::KindDiscovers(std::string_view kind) const {
  if (!KindEnabled(kind) || !creatify::FindKind(kind_table, kind)->list) return false;
  const KindConfig& section = kinds.find(kind)->second;
  return section.discover.value_or(section.ids.empty() && section.ids_file.empty());
}

std::vector<const Config*> Config::Polled() const {
  std::vector<const Config*> polled;
  if (workspaces.empty()) {
    polled.push_back(this);
  } else {
    for (const Config& workspace : workspaces) polled.push_back(&workspace);
  }
  return polled;
}

std::vector<std::string> Config::StoreKinds() const {
  std::vector<std::string> kinds;
  for (const Config* polled : Polled()) {
    for (const std::string& kind : polled->EnabledKinds()) {
      kinds.push_back(creatify::ScopedKind(polled->workspace, kind));
    }
  }
  return kinds;
}

std::vector<std::string> Config::WorkspaceNames() const {
  std::vector<std::string> names;
  for (const Config& workspace : workspaces) names.push_back(workspace.workspace);
  return names;
}

std::optional<Config> LoadConfig(const std::string& path, std::string* error, EnvLookup env) {
  std::string ignored;
  if (error == nullptr) error = &ignored;
  std::optional<Config> config;
  auto parse = [&](const YAML::Node& root, std::string* parse_error) {
    Parser parser(path, env);
    Config parsed;
    parsed.path = path;
    if (!parser.Parse(root, &parsed)) {
      *parse_error = parser.error();
      return false;
    }
    config = std::move(parsed);
    return true;
  };
  if (!ParseYamlFile(path, kMaxConfigBytes, parse, error)) return std::nullopt;
  return config;
}

}  // namespace config
