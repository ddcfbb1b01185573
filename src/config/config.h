// The exporter's configuration: the YAML file given with --config.file, with its defaults applied
// and validated while parsing. A value type; LoadConfig is thread-safe.
#pragma once

#include <chrono>
#include <functional>
#include <initializer_list>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "creatify/kind.h"

namespace config {

// A kind's configured job ids: held once by every copy of a config (the running config, each
// poller's), tens of thousands as they may be. A value: changing a copy copies the ids first.
class IdList {
 public:
  IdList() = default;
  // NOLINTNEXTLINE(google-explicit-constructor): stands for the vector it holds
  IdList(std::vector<std::string> ids)
      : ids_(ids.empty() ? nullptr
                         : std::make_shared<const std::vector<std::string>>(std::move(ids))) {}
  IdList(std::initializer_list<std::string> ids) : IdList(std::vector<std::string>(ids)) {}

  const std::vector<std::string>& vector() const { return ids_ ? *ids_ : Empty(); }
  auto begin() const { return vector().begin(); }
  auto end() const { return vector().end(); }
  size_t size() const { return vector().size(); }
  bool empty() const { return vector().empty(); }
  const std::string& operator[](size_t i) const { return vector()[i]; }
  void push_back(std::string id);

  friend bool operator==(const IdList& a, const IdList& b) { return a.vector() == b.vector(); }
  friend bool operator==(const IdList& a, const std::vector<std::string>& b) {
    return a.vector() == b;
  }

 private:
  static const std::vector<std::string>& Empty();
  std::shared_ptr<const std::vector<std::string>> ids_;
};

// One section per job kind, keyed in Config::kinds by the kind's name (creatify::KindSpec::name),
// read from the YAML key creatify::KindSpec::config_key (a custom kind: its `custom_kinds` entry).
struct KindConfig {
  // `enabled:` (default: true for the original three kinds and for a kind whose section is
  // present). A kind without a list endpoint is only polled when it has ids.
  bool enabled = true;
  // `ids:` (default empty): job ids, each of letters, digits, '-' and '_' only, no duplicates.
  // For a list kind, empty means every job of the workspace.
  IdList ids;
  // `ordering:` for list kinds (default "-created_at"); empty for kinds without a list.
  std::string ordering;
  // `ids_file:` (default none): a file of job ids, one per line ('#' comments and blank lines
  // ignored), re-read when it changes. Resolved against the config file's directory.
  std::string ids_file;
  // `discover:` for list kinds: read the whole list every discovery_interval and track the jobs
  // found in it. nullopt: discover when neither ids nor ids_file is given.
  std::optional<bool> discover;

  bool operator==(const KindConfig&) const = default;
};

// The webhook receiver (`webhook:`): off without a token.
struct WebhookConfig {
  // From `webhook.token` or the file `webhook.token_file` (trimmed): at least 16 characters, of
  // letters, digits, '-', '_', '.' and '~' (it is a path segment). Never logged.
  std::string token;

  bool operator==(const WebhookConfig&) const = default;
};

// `breakdown:`: completions and credits broken down by fields of the jobs. Off without fields.
struct BreakdownConfig {
  // `fields`: 1 to 3 string fields of the jobs, each a label of the breakdown families in this
  // order: an info field of an enabled kind, or failed_reason. Unique; not "kind" or "status".
  std::vector<std::string> fields;
  // `max_values`: per field, how many values get a label value of their own (the first ones
  // seen, kept across restarts); later values are counted as "other". 1 to 1000.
  int max_values = 20;
  bool operator==(const BreakdownConfig&) const = default;
};

// The section of `kind` when the config says nothing of it.
KindConfig DefaultKindConfig(const creatify::KindSpec& kind);
// The default section of every built-in kind, keyed by the kind's name.
std::map<std::string, KindConfig, std::less<>> DefaultKinds();

// A default-constructed Config holds every default; only the credentials are empty.
struct Config {
  // The path the config was read from, for messages.
  std::string path;

  // `workspaces:` (default none): each entry is a Config of its own, `workspace` set to its
  // name (a-z, 0-9, '_' and '-', 1 to 63 characters, unique): this config's settings, its own
  // `api` keys over this one's, and its own kind sections (a kind is on in a workspace only when
  // its section is there). With workspaces, this config polls nothing itself (its kinds are all
  // off, its credentials empty) and top-level kind sections are an error.
  std::string workspace;
  std::vector<Config> workspaces;

  // `api.base_url`: scheme (http or https, lower case), host, optional port and optional path
  // prefix, without a trailing slash.
  std::string base_url = "https://api.creatify.ai";
  // Resolved credentials: from api_id_file / api_key_file when set, else from the environment
  // variables CREATIFY_API_ID / CREATIFY_API_KEY; surrounding whitespace trimmed, never empty
  // after LoadConfig (but empty at the top level of a config with workspaces), free of control
  // characters. Never logged.
  std::string api_id;
  std::string api_key;
  // `api.timeout`: 1ms to 10m.
  std::chrono::milliseconds timeout{std::chrono::seconds(10)};
  // `api.max_concurrency`: 1 to 64.
  int max_concurrency = 4;
  // `api.max_body_bytes`: the largest response read (1KiB to 1GiB); a larger one is refused
  // without being read whole.
  int max_body_bytes = 64 << 20;
  // `api.ca_file`: a PEM bundle of the CAs trusted for an https base_url (relative to the config
  // file's folder); empty: the system's CAs. Checked at load to be readable and to hold a
  // certificate.
  std::string ca_file;

  // `poll_interval`: 100ms to 24h.
  std::chrono::milliseconds poll_interval{std::chrono::seconds(30)};
  bool per_job_metrics = true;
  // `discovery_interval`: how often a kind that discovers its jobs (a list kind without ids)
  // reads its whole list (100ms to 24h); between two listings only its unfinished jobs are
  // asked for, by id. nullopt: the poll interval (a listing every cycle).
  std::optional<std::chrono::milliseconds> discovery_interval;
  // `terminal_retention`: how long a finished job's per-job series stay after its terminal
  // transition (1s up).
  std::chrono::milliseconds terminal_retention{std::chrono::minutes(15)};
  // `max_tracked_jobs`: the cap on unfinished and retained jobs (1 to 10,000,000).
  int max_tracked_jobs = 10000;

  // `state.path`: the SQLite file the state persists in (relative: to the working directory);
  // empty: no persistence.
  std::string state_path = "creatify-exporter.db";
  // `state.forget_after`: how long a finished job's id is remembered after it left the output
  // (1s up).
  std::chrono::milliseconds forget_after{std::chrono::hours(24 * 7)};

  WebhookConfig webhook;
  BreakdownConfig breakdown;

  // The kinds this config knows: the built-in rows (with any `progress_scale` of their
  // section), then the `custom_kinds` in config order. The order metrics are rendered in.
  creatify::KindTable kind_table = creatify::BuiltinKinds();
  // Every kind of kind_table has an entry.
  std::map<std::string, KindConfig, std::less<>> kinds = DefaultKinds();

  // The one definition of "this kind is on": its section is enabled. An enabled kind is
  // rendered (zeros included) whether or not it has anything to poll. False for a name that is
  // not a kind.
  bool KindEnabled(std::string_view kind) const;
  // The enabled kinds' names, in kind_table order: the kinds the store renders.
  std::vector<std::string> EnabledKinds() const;
  // True when the kind is polled at all: enabled, and with ids or a list endpoint.
  bool KindActive(std::string_view kind) const;
  // True when the enabled kind reads its whole list to find its jobs (see KindConfig::discover).
  bool KindDiscovers(std::string_view kind) const;

  // The configs that poll the API, each on its own: the workspaces, or this config alone.
  std::vector<const Config*> Polled() const;
  // The scoped names (creatify::ScopedKind) of the enabled kinds of every polled config, in
  // order: the kinds the store renders.
  std::vector<std::string> StoreKinds() const;
  // The workspaces' names, in config order (empty without workspaces).
  std::vector<std::string> WorkspaceNames() const;

  bool operator==(const Config&) const = default;
};

// Reads, defaults and validates. On failure returns nullopt and sets *error to one line:
//   "<file>:<line>:<column>: <key.path>: <what is wrong>"
// with the 1-based position of the offending key or value, "<file>:<line>:<column>: <message>"
// for a YAML syntax error, or "<file>: cannot read: <reason>". An empty file means every default.
// A relative api_id_file / api_key_file is taken relative to the config file's directory.
// Messages never contain the credentials. Never throws.
//
// `env` looks up environment variables (nullptr: std::getenv); it is a parameter so that tests do
// not depend on the process environment.
using EnvLookup = std::optional<std::string> (*)(const char* name);
std::optional<Config> LoadConfig(const std::string& path, std::string* error,
                                 EnvLookup env = nullptr);

}  // namespace config
