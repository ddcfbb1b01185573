// The Creatify job kinds, as rows of data. The built-in rows are in kind.cpp; a config adds rows
// of its own (`custom_kinds:`) and may change a row's progress scale, so the table a running
// exporter uses is a value (config::Config::kind_table) handed to the poller, the parser and the
// start-up steps. Rows are plain values; BuiltinKinds() is immutable after static
// initialisation and safe to read from any thread.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "creatify/job.h"

namespace creatify {

// How a kind's `progress` field is read: 0..1, 0..100, or not at all (the kind has none).
enum class ProgressScale { kNone, kFraction, kPercent };

// "none", "fraction", "percent".
std::string_view ProgressScaleName(ProgressScale scale);
// "fraction" or "percent" (the words a config may use); nullopt otherwise.
std::optional<ProgressScale> ParseProgressScale(std::string_view word);

// The API's status word and the status it means.
using StatusWords = std::vector<std::pair<std::string, Status>>;

// pending, in_queue, running, failed, done and rejected, each meaning itself.
StatusWords StandardStatusWords();

struct KindSpec {
  // The `kind` label value, e.g. "custom_template".
  std::string name;
  // The section of the config file that configures this kind, e.g. "custom_template_jobs".
  // Empty for a custom kind: its entry in `custom_kinds` is its section.
  std::string config_key;
  // The collection path, with leading and trailing slash. A job is GET path + id + "/".
  std::string path;
  // GET path returns the whole list as a JSON array (no pagination).
  bool list = false;
  // The list takes ?ids=a,b,c with at most this many ids; 0 when it does not filter by id.
  int max_ids_per_request = 0;
  // The kind's status vocabulary; a word outside it is Status::kUnknown.
  StatusWords statuses = StandardStatusWords();
  ProgressScale progress_scale = ProgressScale::kNone;
  // JSON string fields of a job that become labels of creatify_job_info, in this order.
  std::vector<std::string> info_fields;
  // Polled without a section in the config (the three original kinds); the others are off
  // until their section is present.
  bool on_by_default = false;

  bool operator==(const KindSpec&) const = default;
};

using KindTable = std::vector<KindSpec>;

// Every built-in kind, in the order metrics are rendered.
const KindTable& BuiltinKinds();

// The kind whose `name` is `name` in `kinds`, or nullptr.
const KindSpec* FindKind(const KindTable& kinds, std::string_view name);

// The status `word` means for `kind`: kUnknown outside its vocabulary.
Status MapStatus(const KindSpec& kind, std::string_view word);

// With `workspaces:`, the state of a kind is kept per workspace: the store, the state file, the
// webhook queue and the renderer know a kind by its scoped name "<workspace>/<kind>" (a workspace
// name and a kind name never hold '/'); without workspaces, by its name alone.
std::string ScopedKind(std::string_view workspace, std::string_view kind);
// The workspace ("" for none) and the kind of a scoped name.
struct KindScope {
  std::string_view workspace;
  std::string_view kind;
};
KindScope SplitScopedKind(std::string_view scoped);

}  // namespace creatify
