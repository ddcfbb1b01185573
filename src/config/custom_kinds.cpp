// `custom_kinds:`: job kinds the config declares, for a kind Creatify adds after this release.
// Each entry is a row of the kind table (name, path, list, statuses, progress_scale,
// info_fields) and the kind's section at once (enabled, ids, ordering, ...).
#include <algorithm>
#include <regex>

#include "config/parser.h"

namespace config {
namespace {

constexpr int kMaxIdsPerRequest = 100;
const std::vector<std::string_view> kRowKeys = {"name",     "path",           "list",
                                                "statuses", "progress_scale", "info_fields"};

std::string StatusChoices() {
  std::string out;
  for (const auto& [word, status] : creatify::StandardStatusWords()) {
    if (!out.empty()) out += ", ";
    out += word;
  }
  return out;
}

}  // namespace

bool Parser::ParseCustomKinds(const Entry& section, Config* config) {
  if (section.value.IsNull()) return true;
  if (!section.value.IsSequence()) {
    return Fail(ValueMark(section), section.path,
                "expected a list of kinds, got " + Describe(section.value));
  }
  return ForEachItem(section, [&](const Entry& entry, std::size_t) {
    if (!entry.value.IsMap()) {
      return Fail(
          ValueMark(entry), entry.path,
          "expected a map with name, path, list and statuses, got " + Describe(entry.value));
    }
    return ParseCustomKind(entry, config);
  });
}

bool Parser::ParseCustomKind(const Entry& item, Config* config) {
  creatify::KindSpec kind;
  kind.statuses.clear();
  bool has_name = false, has_path = false, has_statuses = false;
  // The row's keys, then a listed kind's section keys (ParseKind checks them against `list`).
  std::vector<std::string_view> known = kRowKeys;
  for (std::string_view key : KindKeys(creatify::KindSpec{.list = true})) {
    if (std::find(known.begin(), known.end(), key) == known.end()) known.push_back(key);
  }
  bool ok = ForEach(item.value, item.path, [&](const Entry& entry) {
    if (entry.key == "name") return has_name = ReadKindName(entry, *config, &kind.name);
    if (entry.key == "path") return has_path = ReadKindPath(entry, *config, &kind.path);
    if (entry.key == "list") return ReadBool(entry, &kind.list);
    if (entry.key == "statuses") return has_statuses = ReadStatusWords(entry, &kind.statuses);
    if (entry.key == "progress_scale") return ReadProgressScale(entry, &kind.progress_scale);
    if (entry.key == "info_fields") return ReadInfoFields(entry, &kind.info_fields);
    for (std::string_view key : known) {
      if (entry.key == key) return true;  // a section key, read below
    }
    return UnknownKey(entry, known);
  });
  if (!ok) return false;
  for (auto [present, key] : {std::pair{has_name, "name"}, std::pair{has_path, "path"},
                              std::pair{has_statuses, "statuses"}}) {
    if (!present) return Fail(item.key_mark, item.path, std::string("missing key ") + key);
  }
  if (kind.list) kind.max_ids_per_request = kMaxIdsPerRequest;
  kind.on_by_default = true;

  KindConfig section = DefaultKindConfig(kind);
  std::vector<std::string_view> read_already = kRowKeys;
  if (!ParseKind(item, &kind, &section, read_already)) return false;
  config->kinds[kind.name] = std::move(section);
  config->kind_table.push_back(std::move(kind));
  return true;
}

bool Parser::ReadKindName(const Entry& entry, const Config& config, std::string* out) {
  std::string name;
  if (!ReadString(entry, &name)) return false;
  static const std::regex kName("[a-z0-9_]+");
  if (!std::regex_match(name, kName)) {
    return Fail(ValueMark(entry), entry.path,
                "invalid kind name " + Quote(name) +
                    " (it becomes the kind label: only a-z, 0-9 and \"_\" are allowed)");
  }
  const std::size_t builtins = creatify::BuiltinKinds().size();
  for (std::size_t i = 0; i < config.kind_table.size(); ++i) {
    if (config.kind_table[i].name != name) continue;
    if (i < builtins) {
      return Fail(ValueMark(entry), entry.path,
                  "kind name " + Quote(name) + " is taken by a built-in kind (section " +
                      config.kind_table[i].config_key + ")");
    }
    return Fail(ValueMark(entry), entry.path,
                "duplicate kind name " + Quote(name) + " (first at custom_kinds[" +
                    std::to_string(i - builtins) + "])");
  }
  *out = std::move(name);
  return true;
}

bool Parser::ReadKindPath(const Entry& entry, const Config& config, std::string* out) {
  std::string text;
  if (!ReadString(entry, &text)) return false;
  // A segment ("video_translations") is the usual form; a full path under /api/ allows a
  // nested collection.
  static const std::regex kSegment("[A-Za-z0-9_-]+");
  static const std::regex kFull("/api(/[A-Za-z0-9_-]+)+/");
  std::string path;
  if (std::regex_match(text, kSegment)) {
    path = "/api/" + text + "/";
  } else if (std::regex_match(text, kFull)) {
    path = text;
  } else {
    return Fail(ValueMark(entry), entry.path,
                "invalid path " + Quote(text) +
                    " (expected the API's path segment, e.g. video_translations, or a path "
                    "such as /api/video_translations/)");
  }
  for (const auto& kind : config.kind_table) {
    if (kind.path == path) {
      return Fail(ValueMark(entry), entry.path,
                  "path " + path + " is already the path of kind " + kind.name);
    }
  }
  *out = std::move(path);
  return true;
}

bool Parser::ReadStatusWords(const Entry& entry, creatify::StatusWords* out) {
  if (!entry.value.IsMap()) {
    return Fail(ValueMark(entry), entry.path,
                "expected a map of the API's status words to ours (" + StatusChoices() + "), got " +
                    Describe(entry.value));
  }
  out->clear();
  const auto standard = creatify::StandardStatusWords();
  bool ok = ForEach(entry.value, entry.path, [&](const Entry& word) {
    std::string ours;
    if (!ReadString(word, &ours)) return false;
    for (const auto& [name, status] : standard) {
      if (name == ours) {
        out->emplace_back(word.key, status);
        return true;
      }
    }
    return Fail(ValueMark(word), word.path,
                "unknown status " + Quote(ours) + " (expected one of: " + StatusChoices() + ")");
  });
  if (!ok) return false;
  if (out->empty()) {
    return Fail(ValueMark(entry), entry.path, "expected at least one status word");
  }
  return true;
}

bool Parser::ReadInfoFields(const Entry& entry, std::vector<std::string>* out) {
  out->clear();
  if (entry.value.IsNull()) return true;
  if (!entry.value.IsSequence()) {
    return Fail(ValueMark(entry), entry.path,
                "expected a list of field names, got " + Describe(entry.value));
  }
  return ForEachItem(entry, [&](const Entry& item, std::size_t) {
    std::string field;
    if (!ReadFieldName(item, &field)) return false;
    if (field == "kind" || field == "job_id") {
      return Fail(ValueMark(item), item.path,
                  "field name " + Quote(field) + " clashes with a label of creatify_job_info");
    }
    for (const auto& seen : *out) {
      if (seen == field) return Fail(ValueMark(item), item.path, "duplicate field " + Quote(field));
    }
    out->push_back(std::move(field));
    return true;
  });
}

bool Parser::ReadFieldName(const Entry& entry, std::string* out) {
  if (!ReadString(entry, out)) return false;
  static const std::regex kLabel("[a-z_][a-z0-9_]*");
  if (std::regex_match(*out, kLabel) && !out->starts_with("__")) return true;
  return Fail(ValueMark(entry), entry.path,
              "invalid field name " + Quote(*out) +
                  " (it becomes a label: a-z, 0-9 and \"_\", not starting with a digit or "
                  "\"__\")");
}

}  // namespace config
