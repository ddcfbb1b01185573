// The config file's sections: the top level, `api` and one per job kind, each read and validated
// with its defaults already in place, then the credentials. Used by LoadConfig; not thread-safe:
// one parser per call.
#pragma once

#include <yaml-cpp/yaml.h>

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
  bool ParseKind(const Entry& entry, const creatify::KindSpec& kind, KindConfig* out);
  bool ParseWebhook(const Entry& entry, Config* config);

  // A file name from the config, relative to the config file's directory.
  std::string ResolveAgainstConfig(const std::string& name) const;

  bool ReadIds(const Entry& entry, std::vector<std::string>* out);
  bool ReadIdsFile(const Entry& entry, std::string* out);
  bool ReadOrdering(const Entry& entry, std::string* out);
  bool ReadBaseUrl(const Entry& entry, std::string* out);
  bool ReadCaFile(const Entry& entry, std::string* out);

  EnvLookup env_;
  CredentialSources credentials_;
};

}  // namespace config
