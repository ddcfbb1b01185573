// The Creatify job kinds the exporter knows, as rows of data. Adding a kind is adding a row to
// the table in kind.cpp: the poller, the parser, the store and the metrics all read it from here.
// Immutable after static initialisation; safe to read from any thread.
#pragma once

#include <string_view>
#include <vector>

namespace creatify {

struct KindSpec {
  // The `kind` label value, e.g. "custom_template".
  std::string_view name;
  // The section of the config file that configures this kind, e.g. "custom_template_jobs".
  std::string_view config_key;
  // The collection path, with leading and trailing slash. A job is GET path + id + "/".
  std::string_view path;
  // GET path returns the whole list as a JSON array (no pagination).
  bool list = false;
  // The list takes ?ids=a,b,c with at most this many ids; 0 when it does not filter by id.
  int max_ids_per_request = 0;
  // JSON string fields of a job that become labels of creatify_job_info, in this order.
  std::vector<std::string_view> info_fields;
};

// Every kind, in the order metrics are rendered.
const std::vector<KindSpec>& Kinds();

// The kind whose `name` is `name`, or nullptr.
const KindSpec* FindKind(std::string_view name);

}  // namespace creatify
