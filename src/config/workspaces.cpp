// `workspaces:`: several Creatify workspaces watched by one exporter. Each entry is read into a
// Config of its own, starting from the top-level settings: its `api` keys replace the top-level
// ones they name, its credentials come from its own files or else the top-level ones (files, then
// the environment), and its kind sections are the only kinds it polls.
#include <algorithm>

#include "config/credentials.h"
#include "config/parser.h"

namespace config {
namespace {

constexpr std::size_t kMaxWorkspaceName = 63;

bool IsWorkspaceName(std::string_view name) {
  if (name.empty() || name.size() > kMaxWorkspaceName) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
  });
}

// The key of a kind's section: a built-in kind's config_key, a custom kind's name.
std::string_view SectionKey(const creatify::KindSpec& kind) {
  return kind.config_key.empty() ? std::string_view(kind.name) : std::string_view(kind.config_key);
}

}  // namespace

bool Parser::ParseWorkspaces(const Entry& section, const std::optional<Entry>& kind_section,
                             Config* config) {
  if (!section.value.IsSequence() || section.value.size() == 0) {
    return Fail(
        ValueMark(section), section.path,
        "expected a list of at least one workspace, each a map with a name, got " +
            (section.value.IsSequence() ? std::string("an empty list") : Describe(section.value)));
  }
  if (kind_section) {
    return Fail(kind_section->key_mark, kind_section->path,
                "with workspaces, a kind section belongs in each workspace that polls the kind, "
                "not at the top level");
  }
  const CredentialSources top_credentials = credentials_;
  std::vector<Config> workspaces;
  const bool ok = ForEachItem(section, [&](const Entry& item, std::size_t) {
    if (!item.value.IsMap()) {
      return Fail(ValueMark(item), item.path,
                  "expected a map with a name, an api section and kind sections, got " +
                      Describe(item.value));
    }
    credentials_ = CredentialSources{};
    Config workspace;
    if (!ParseWorkspace(item, *config, workspaces, &workspace)) return false;
    CredentialSources sources = credentials_;
    if (!sources.api_id_file) sources.api_id_file = top_credentials.api_id_file;
    if (!sources.api_key_file) sources.api_key_file = top_credentials.api_key_file;
    if (!sources.api_mark) sources.api_mark = item.value.Mark();
    sources.api_path = item.path + ".api";
    if (!ResolveCredentials(sources, env_, *this, &workspace)) return false;
    workspaces.push_back(std::move(workspace));
    return true;
  });
  credentials_ = top_credentials;
  if (!ok) return false;
  // The top level polls nothing: every kind's work is a workspace's.
  for (auto& [name, kind] : config->kinds) kind.enabled = false;
  config->api_id.clear();
  config->api_key.clear();
  config->workspaces = std::move(workspaces);
  return true;
}

bool Parser::ParseWorkspace(const Entry& item, const Config& top, const std::vector<Config>& before,
                            Config* out) {
  *out = top;
  out->workspaces.clear();
  for (const auto& kind : out->kind_table) {
    KindConfig section = DefaultKindConfig(kind);
    section.enabled = false;
    out->kinds[kind.name] = std::move(section);
  }
  std::vector<std::string_view> known = {"name", "api"};
  for (const auto& kind : out->kind_table) known.push_back(SectionKey(kind));
  bool has_name = false;
  const bool ok = ForEach(item.value, item.path, [&](const Entry& entry) {
    if (entry.key == "name") return has_name = ReadWorkspaceName(entry, before, &out->workspace);
    if (entry.key == "api") return ParseApi(entry, out);
    for (auto& kind : out->kind_table) {
      if (entry.key == SectionKey(kind)) {
        KindConfig& section = out->kinds.find(kind.name)->second;
        section.enabled = true;
        return ParseKind(entry, &kind, &section);
      }
    }
    return UnknownKey(entry, known);
  });
  if (!ok) return false;
  if (!has_name) return Fail(item.value.Mark(), item.path, "missing key name");
  return true;
}

bool Parser::ReadWorkspaceName(const Entry& entry, const std::vector<Config>& before,
                               std::string* out) {
  if (!ReadString(entry, out)) return false;
  if (!IsWorkspaceName(*out)) {
    return Fail(
        ValueMark(entry), entry.path,
        "a workspace name is 1 to 63 characters of a-z, 0-9, '_' and '-', got " + Quote(*out));
  }
  for (const Config& other : before) {
    if (other.workspace == *out) {
      return Fail(ValueMark(entry), entry.path, "workspace " + Quote(*out) + " is named twice");
    }
  }
  return true;
}

}  // namespace config
