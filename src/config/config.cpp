#include "config/config.h"

#include <yaml-cpp/yaml.h>

#include <cstring>
#include <utility>

#include "config/parser.h"
#include "config/read_file.h"
#include "creatify/kind.h"

namespace config {
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

std::optional<Config> LoadConfig(const std::string& path, std::string* error, EnvLookup env) {
  std::string ignored;
  if (error == nullptr) error = &ignored;
  std::string text;
  int err = 0;
  switch (ReadFile(path, kMaxConfigBytes, &text, &err)) {
    case ReadResult::kOk:
      break;
    case ReadResult::kError:
      *error = path + ": cannot read: " + std::strerror(err);
      return std::nullopt;
    case ReadResult::kTooLarge:
      *error = path + ": cannot read: larger than " + std::to_string(kMaxConfigBytes) + " bytes";
      return std::nullopt;
  }

  // yaml-cpp reports every problem by throwing; nothing of it leaves this function.
  try {
    std::vector<YAML::Node> documents = YAML::LoadAll(text);
    Parser parser(path, env);
    for (std::size_t i = 1; i < documents.size(); ++i) {
      if (!documents[i].IsNull()) {
        YAML::Mark mark = documents[i].Mark();
        *error = path + ":" + std::to_string(mark.line + 1) + ":" +
                 std::to_string(mark.column + 1) + ": only one YAML document is allowed";
        return std::nullopt;
      }
    }
    Config config;
    config.path = path;
    if (!parser.Parse(documents.empty() ? YAML::Node() : documents[0], &config)) {
      *error = parser.error();
      return std::nullopt;
    }
    return config;
  } catch (const YAML::Exception& e) {
    if (e.mark.is_null()) {
      *error = path + ": " + e.msg;
    } else {
      *error = path + ":" + std::to_string(e.mark.line + 1) + ":" +
               std::to_string(e.mark.column + 1) + ": " + e.msg;
    }
  } catch (const std::exception& e) {
    *error = path + ": " + e.what();
  }
  return std::nullopt;
}

}  // namespace config
