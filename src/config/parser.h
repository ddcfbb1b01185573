// The config file's sections: the top level, `api` and one per job kind, each read and validated
// with its defaults already in place, then the credentials. Used by LoadConfig; not thread-safe:
// one parser per call.
#pragma once

#include <yaml-cpp/yaml.h>

#include <optional>
#include <string>

#include "config/config.h"
#include "config/credentials.h"
#include "config/yaml_reader.h"
#include "creatify/kind.h"

namespace config {

class Parser : public YamlReader {
 public:
  Parser(std::string file, EnvLookup env) : YamlReader(std::move(file)), env_(env) {}

  // Reads `root` (a map, or null for an empty file) into *config; false with error() set on the
  // first problem.
  bool Parse(const YAML::Node& root, Config* config);

 private:
  bool ParseApi(const Entry& entry, Config* config);
  bool ParseState(const Entry& entry, Config* config);
  // A kind's section into *out; `progress_scale` changes *kind. Keys in `read_already` were
  // read by the caller and are skipped.
  bool ParseKind(const Entry& entry, creatify::KindSpec* kind, KindConfig* out,
                 const std::vector<std::string_view>& read_already = {});
  // The keys of a kind's section.
  static std::vector<std::string_view> KindKeys(const creatify::KindSpec& kind);
  // `custom_kinds:` (custom_kinds.cpp): appends to config->kind_table and config->kinds.
  bool ParseCustomKinds(const Entry& entry, Config* config);
  bool ParseCustomKind(const Entry& entry, Config* config);
  bool ReadKindName(const Entry& entry, const Config& config, std::string* out);
  bool ReadKindPath(const Entry& entry, const Config& config, std::string* out);
  bool ReadStatusWords(const Entry& entry, creatify::StatusWords* out);
  bool ReadInfoFields(const Entry& entry, std::vector<std::string>* out);
  // A job field's name, which becomes a label: [a-z_][a-z0-9_]*, not starting with "__".
  bool ReadFieldName(const Entry& entry, std::string* out);
  bool ReadProgressScale(const Entry& entry, creatify::ProgressScale* out);
  bool ParseWebhook(const Entry& entry, Config* config);
  // `breakdown:` (breakdown.cpp); its fields are checked against the enabled kinds by
  // CheckBreakdown once every section is read.
  bool ParseBreakdown(const Entry& entry, Config* config);
  bool CheckBreakdown(const Config& config);
  // `workspaces:` (workspaces.cpp), read once the rest of the file is: each workspace starts from
  // the top-level settings. `kind_section` is the first top-level kind section, if any.
  bool ParseWorkspaces(const Entry& entry, const std::optional<Entry>& kind_section,
                       Config* config);
  bool ParseWorkspace(const Entry& item, const Config& top, const std::vector<Config>& before,
                      Config* out);
  bool ReadWorkspaceName(const Entry& entry, const std::vector<Config>& before, std::string* out);

  bool ReadIds(const Entry& entry, IdList* out);
  bool ReadIdsFile(const Entry& entry, std::string* out);
  bool ReadOrdering(const Entry& entry, std::string* out);
  bool ReadBaseUrl(const Entry& entry, std::string* out);
  bool ReadCaFile(const Entry& entry, std::string* out);

  EnvLookup env_;
  CredentialSources credentials_;
  // Where each breakdown field was named, for CheckBreakdown's message.
  std::vector<Entry> breakdown_fields_;
};

}  // namespace config
