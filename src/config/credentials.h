// The API credentials: read from the files named by api.api_id_file / api.api_key_file, or else
// from the environment, trimmed and checked. Part of LoadConfig; not thread-safe (it reports
// through the caller's YamlReader).
#pragma once

#include <yaml-cpp/yaml.h>

#include <optional>
#include <string>

#include "config/config.h"
#include "config/yaml_reader.h"

namespace config {

// A credential file key that was set, kept until the whole document has been read so that
// structural errors are reported first, in document order.
struct CredentialFile {
  // Resolved against the config file's directory.
  std::string path;
  std::string key_path;
  YAML::Mark mark;
};

struct CredentialSources {
  std::optional<CredentialFile> api_id_file;
  std::optional<CredentialFile> api_key_file;
  // Where the `api` section starts, for messages about a missing credential; none without one.
  std::optional<YAML::Mark> api_mark;
  // The section's path in those messages.
  std::string api_path = "api";
};

// Reads a secret from a small file (a credential, the webhook token): trimmed, not empty, free of
// control characters; fails through `reader` at `mark` / `key_path`, never echoing the content.
bool ReadSecretFile(const std::string& path, const std::string& key_path, const YAML::Mark& mark,
                    YamlReader& reader, std::string* out);

// Sets config->api_id and config->api_key, or fails through `reader` with a message that never
// holds a credential. `env` as for LoadConfig (nullptr: std::getenv).
bool ResolveCredentials(const CredentialSources& sources, EnvLookup env, YamlReader& reader,
                        Config* config);

}  // namespace config
