// The exporter's configuration: the YAML file given with --config.file, with its defaults applied
// and validated while parsing. A value type; LoadConfig is thread-safe.
#pragma once

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace config {

// One section per job kind, keyed in Config::kinds by the kind's name (creatify::KindSpec::name),
// read from the YAML key creatify::KindSpec::config_key.
struct KindConfig {
  // `enabled:` (default true). A kind without a list endpoint is only polled when it has ids.
  bool enabled = true;
  std::vector<std::string> ids;
  // `ordering:` for list kinds (default "-created_at"); empty for kinds without a list.
  std::string ordering;
};

struct Config {
  // The path the config was read from, for messages.
  std::string path;

  std::string base_url = "https://api.creatify.ai";
  // Resolved credentials: from api_id_file / api_key_file when set, else from the environment
  // variables CREATIFY_API_ID / CREATIFY_API_KEY. Never logged.
  std::string api_id;
  std::string api_key;
  std::chrono::milliseconds timeout{std::chrono::seconds(10)};
  int max_concurrency = 4;

  std::chrono::milliseconds poll_interval{std::chrono::seconds(30)};
  bool per_job_metrics = true;

  // Every kind of creatify::Kinds() has an entry.
  std::map<std::string, KindConfig, std::less<>> kinds;

  // True when the kind is polled at all: enabled, and with ids or a list endpoint.
  bool KindActive(std::string_view kind) const;
};

// Reads, defaults and validates. On failure returns nullopt and sets *error to one line:
//   "<file>:<line>:<column>: <key.path>: <what is wrong>"
// (or "<file>: <what>" when the file cannot be read). `env` looks up environment variables; it is
// a parameter so that tests do not depend on the process environment.
using EnvLookup = std::optional<std::string> (*)(const char* name);
std::optional<Config> LoadConfig(const std::string& path, std::string* error,
                                 EnvLookup env = nullptr);

// A duration as Prometheus writes them: one or more <integer><unit> parts, units h, m, s, ms in
// that order ("10s", "500ms", "1m30s"). nullopt when it does not parse.
std::optional<std::chrono::milliseconds> ParseDuration(std::string_view text);

}  // namespace config
