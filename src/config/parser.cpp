#include "config/parser.h"

#include <cctype>
#include <cstring>
#include <filesystem>
#include <map>

#include "config/credentials.h"
#include "config/ids_file.h"
#include "config/read_file.h"
#include "creatify/base_url.h"

namespace config {
namespace {

using std::chrono::milliseconds;

constexpr milliseconds kMinTimeout{1};
constexpr milliseconds kMaxTimeout{10 * 60 * 1000};
constexpr milliseconds kMinPollInterval{100};
constexpr milliseconds kMaxPollInterval{24 * 60 * 60 * 1000};
constexpr int kMinConcurrency = 1;
constexpr int kMaxConcurrency = 64;
constexpr int kMinBodyBytes = 1 << 10;
constexpr int kMaxBodyBytes = 1 << 30;
constexpr int kMaxTrackedJobs = 10'000'000;
// Retention and forgetting take anything from a second (tests and demos) to about a century.
constexpr milliseconds kMinKeep{1000};
constexpr milliseconds kMaxKeep{100LL * 365 * 24 * 60 * 60 * 1000};
constexpr std::size_t kMinWebhookTokenLength = 16;

// Django REST framework's ordering: field names, each optionally descending, comma-separated
// (-?[A-Za-z0-9_]+(,-?[A-Za-z0-9_]+)*), checked in one pass: std::regex recurses per character.
bool IsOrdering(std::string_view text) {
  std::size_t pos = 0;
  for (;;) {
    if (pos < text.size() && text[pos] == '-') ++pos;
    const std::size_t start = pos;
    while (pos < text.size() &&
           (std::isalnum(static_cast<unsigned char>(text[pos])) != 0 || text[pos] == '_')) {
      ++pos;
    }
    if (pos == start) return false;
    if (pos == text.size()) return true;
    if (text[pos] != ',') return false;
    ++pos;
  }
}

}  // namespace

bool Parser::Parse(const YAML::Node& root, Config* config) {
  if (!root.IsMap() && !root.IsNull()) {
    return Fail(root.Mark(), "",
                "expected a map of settings at the top level, got " + Describe(root));
  }
  std::vector<std::string_view> known = {"api",
                                         "poll_interval",
                                         "per_job_metrics",
                                         "state",
                                         "terminal_retention",
                                         "max_tracked_jobs",
                                         "discovery_interval",
                                         "webhook",
                                         "custom_kinds",
                                         "breakdown",
                                         "workspaces"};
  for (const auto& kind : creatify::BuiltinKinds()) known.push_back(kind.config_key);

  // Read last, over the whole top level.
  std::optional<Entry> workspaces;
  std::optional<Entry> kind_section;
  bool ok = ForEach(root, "", [&](const Entry& entry) {
    if (entry.key == "api") return ParseApi(entry, config);
    if (entry.key == "workspaces") {
      workspaces = entry;
      return true;
    }
    if (entry.key == "poll_interval") {
      return ReadDuration(entry, kMinPollInterval, kMaxPollInterval, &config->poll_interval);
    }
    if (entry.key == "per_job_metrics") return ReadBool(entry, &config->per_job_metrics);
    if (entry.key == "state") return ParseState(entry, config);
    if (entry.key == "webhook") return ParseWebhook(entry, config);
    if (entry.key == "discovery_interval") {
      std::chrono::milliseconds interval{};
      if (!ReadDuration(entry, kMinPollInterval, kMaxPollInterval, &interval)) return false;
      config->discovery_interval = interval;
      return true;
    }
    if (entry.key == "terminal_retention") {
      return ReadDuration(entry, kMinKeep, kMaxKeep, &config->terminal_retention);
    }
    if (entry.key == "max_tracked_jobs") {
      return ReadInt(entry, 1, kMaxTrackedJobs, &config->max_tracked_jobs);
    }
    if (entry.key == "custom_kinds") return ParseCustomKinds(entry, config);
    if (entry.key == "breakdown") return ParseBreakdown(entry, config);
    for (auto& kind : config->kind_table) {
      if (!kind.config_key.empty() && entry.key == kind.config_key) {
        KindConfig& section = config->kinds.find(kind.name)->second;
        // A kind that is off by default is turned on by its section being there.
        section.enabled = true;
        if (!kind_section) kind_section = entry;
        return ParseKind(entry, &kind, &section);
      }
    }
    return UnknownKey(entry, known);
  });
  if (ok && workspaces)
    return ParseWorkspaces(*workspaces, kind_section, config) && CheckBreakdown(*config);
  return ok && CheckBreakdown(*config) && ResolveCredentials(credentials_, env_, *this, config);
}

bool Parser::ParseApi(const Entry& api, Config* config) {
  credentials_.api_mark = api.key_mark;
  if (!ExpectMap(api)) return false;
  static const std::vector<std::string_view> kKnown = {
      "base_url",        "api_id_file",    "api_key_file", "timeout",
      "max_concurrency", "max_body_bytes", "ca_file"};
  return ForEach(api.value, api.path, [&](const Entry& entry) {
    if (entry.key == "base_url") return ReadBaseUrl(entry, &config->base_url);
    if (entry.key == "timeout") {
      return ReadDuration(entry, kMinTimeout, kMaxTimeout, &config->timeout);
    }
    if (entry.key == "max_concurrency") {
      return ReadInt(entry, kMinConcurrency, kMaxConcurrency, &config->max_concurrency);
    }
    if (entry.key == "max_body_bytes") {
      return ReadInt(entry, kMinBodyBytes, kMaxBodyBytes, &config->max_body_bytes);
    }
    if (entry.key == "ca_file") return ReadCaFile(entry, &config->ca_file);
    if (entry.key == "api_id_file" || entry.key == "api_key_file") {
      std::string resolved;
      if (!ReadFilePath(entry, &resolved)) return false;
      auto& slot =
          entry.key == "api_id_file" ? credentials_.api_id_file : credentials_.api_key_file;
      slot = CredentialFile{resolved, entry.path, ValueMark(entry)};
      return true;
    }
    return UnknownKey(entry, kKnown);
  });
}

bool Parser::ReadCaFile(const Entry& entry, std::string* out) {
  std::string name;
  if (!ReadString(entry, &name)) return false;
  if (name.empty()) return Fail(ValueMark(entry), entry.path, "empty file name");
  const std::string path = ResolveAgainstConfig(name);
  // A CA bundle of every public CA is about 200 KB.
  constexpr std::size_t kMaxCaBytes = 4 << 20;
  std::string pem;
  int err = 0;
  switch (ReadFile(path, kMaxCaBytes, &pem, &err)) {
    case ReadResult::kOk:
      break;
    case ReadResult::kError:
      return Fail(ValueMark(entry), entry.path,
                  "cannot read " + QuotePath(path) + ": " + std::strerror(err));
    case ReadResult::kTooLarge:
      return Fail(ValueMark(entry), entry.path,
                  QuotePath(path) + " is larger than " + std::to_string(kMaxCaBytes) + " bytes");
    case ReadResult::kNotRegular:
      return Fail(ValueMark(entry), entry.path, QuotePath(path) + " is not a regular file");
  }
  if (pem.find("-----BEGIN CERTIFICATE-----") == std::string::npos) {
    return Fail(ValueMark(entry), entry.path,
                QuotePath(path) + " holds no PEM certificate (-----BEGIN CERTIFICATE-----)");
  }
  *out = path;
  return true;
}

bool Parser::ParseState(const Entry& section, Config* config) {
  if (!ExpectMap(section)) return false;
  static const std::vector<std::string_view> kKnown = {"path", "forget_after"};
  return ForEach(section.value, section.path, [&](const Entry& entry) {
    if (entry.key == "path") {
      if (entry.value.IsNull()) {
        config->state_path.clear();
        return true;
      }
      return ReadString(entry, &config->state_path);
    }
    if (entry.key == "forget_after") {
      return ReadDuration(entry, kMinKeep, kMaxKeep, &config->forget_after);
    }
    return UnknownKey(entry, kKnown);
  });
}

std::vector<std::string_view> Parser::KindKeys(const creatify::KindSpec& kind) {
  std::vector<std::string_view> known = {"enabled", "ids", "ids_file", "progress_scale"};
  if (kind.list) {
    known.push_back("ordering");
    known.push_back("discover");
  }
  return known;
}

bool Parser::ParseKind(const Entry& section, creatify::KindSpec* kind, KindConfig* out,
                       const std::vector<std::string_view>& read_already) {
  if (!ExpectMap(section)) return false;
  std::vector<std::string_view> known = read_already;
  for (std::string_view key : KindKeys(*kind)) known.push_back(key);
  return ForEach(section.value, section.path, [&](const Entry& entry) {
    for (std::string_view key : read_already) {
      if (entry.key == key) return true;
    }
    if (entry.key == "enabled") return ReadBool(entry, &out->enabled);
    if (entry.key == "ids") return ReadIds(entry, &out->ids);
    if (entry.key == "progress_scale") return ReadProgressScale(entry, &kind->progress_scale);
    if (entry.key == "ids_file") return ReadIdsFile(entry, &out->ids_file);
    if (entry.key == "discover") {
      if (!kind->list) {
        const std::string& what = kind->config_key.empty() ? kind->name : kind->config_key;
        return Fail(entry.key_mark, entry.path,
                    "not allowed here: " + what + " has no list endpoint to discover jobs from");
      }
      bool discover = false;
      if (!ReadBool(entry, &discover)) return false;
      out->discover = discover;
      return true;
    }
    if (entry.key == "ordering") {
      if (kind->list) return ReadOrdering(entry, &out->ordering);
      const std::string& what = kind->config_key.empty() ? kind->name : kind->config_key;
      return Fail(entry.key_mark, entry.path,
                  "not allowed here: " + what + " jobs are read one by one by id, not listed");
    }
    return UnknownKey(entry, known);
  });
}

bool Parser::ReadProgressScale(const Entry& entry, creatify::ProgressScale* out) {
  std::string word;
  if (!ReadString(entry, &word)) return false;
  auto scale = creatify::ParseProgressScale(word);
  if (!scale) {
    return Fail(ValueMark(entry), entry.path,
                "invalid progress scale " + Quote(word) +
                    " (expected fraction, for 0 to 1, or percent, for 0 to 100)");
  }
  *out = *scale;
  return true;
}

bool Parser::ParseWebhook(const Entry& section, Config* config) {
  if (!ExpectMap(section)) return false;
  static const std::vector<std::string_view> kKnown = {"token", "token_file"};
  std::optional<Entry> token;
  std::optional<Entry> token_file;
  bool ok = ForEach(section.value, section.path, [&](const Entry& entry) {
    if (entry.key == "token") {
      token = entry;
      return true;
    }
    if (entry.key == "token_file") {
      token_file = entry;
      return true;
    }
    return UnknownKey(entry, kKnown);
  });
  if (!ok) return false;
  if (token && token_file) {
    return Fail(token_file->key_mark, token_file->path,
                "set either webhook.token or webhook.token_file, not both");
  }
  std::string value;
  const Entry* source = token ? &*token : token_file ? &*token_file : nullptr;
  if (source == nullptr) return true;
  if (token) {
    if (!ReadString(*token, &value)) return false;
  } else {
    std::string name;
    if (!ReadString(*token_file, &name)) return false;
    if (name.empty()) return Fail(ValueMark(*token_file), token_file->path, "empty file name");
    if (!ReadSecretFile(ResolveAgainstConfig(name), token_file->path, ValueMark(*token_file), *this,
                        &value)) {
      return false;
    }
  }
  if (value.size() < kMinWebhookTokenLength) {
    return Fail(ValueMark(*source), source->path,
                "the token must be at least " + std::to_string(kMinWebhookTokenLength) +
                    " characters long");
  }
  for (char c : value) {
    if (!IsIdChar(c) && c != '.' && c != '~') {
      return Fail(ValueMark(*source), source->path,
                  "the token may hold only letters, digits, \"-\", \"_\", \".\" and \"~\" (it is "
                  "part of the webhook URL)");
    }
  }
  config->webhook.token = std::move(value);
  return true;
}

bool Parser::ReadIdsFile(const Entry& entry, std::string* out) {
  std::string path;
  if (!ReadFilePath(entry, &path)) return false;
  // Read once now, so that a wrong path fails at start-up (and a reload) rather than later.
  std::string why = CheckIdsFile(path);
  if (!why.empty()) return Fail(ValueMark(entry), entry.path, why);
  *out = std::move(path);
  return true;
}

bool Parser::ReadIds(const Entry& entry, IdList* out) {
  *out = IdList();
  if (entry.value.IsNull()) return true;
  if (!entry.value.IsSequence()) {
    return Fail(ValueMark(entry), entry.path,
                "expected a list of job ids, got " + Describe(entry.value));
  }
  std::map<std::string, std::size_t, std::less<>> seen;  // id -> index
  std::vector<std::string> ids;
  const bool good = ForEachItem(entry, [&](const Entry& item, std::size_t i) {
    if (!IsString(item.value)) {
      return Fail(ValueMark(item), item.path,
                  "expected a job id (a string; quote ids that look like numbers), got " +
                      Describe(item.value));
    }
    std::string id = item.value.Scalar();
    if (id.empty()) return Fail(ValueMark(item), item.path, "empty job id");
    for (char c : id) {
      if (!IsIdChar(c)) {
        return Fail(
            ValueMark(item), item.path,
            "invalid job id " + Quote(id) + " (only letters, digits, \"-\" and \"_\" are allowed)");
      }
    }
    auto [pos, inserted] = seen.emplace(id, i);
    if (!inserted) {
      return Fail(ValueMark(item), item.path,
                  "duplicate job id " + Quote(id) + " (first at " + entry.path + "[" +
                      std::to_string(pos->second) + "])");
    }
    ids.push_back(std::move(id));
    return true;
  });
  ids.shrink_to_fit();
  *out = IdList(std::move(ids));
  return good;
}

bool Parser::ReadOrdering(const Entry& entry, std::string* out) {
  std::string text;
  if (!ReadString(entry, &text)) return false;
  if (!IsOrdering(text)) {
    return Fail(ValueMark(entry), entry.path,
                "invalid ordering " + Quote(text) +
                    " (expected a field name, optionally after \"-\" for descending, e.g. "
                    "-created_at)");
  }
  *out = std::move(text);
  return true;
}

bool Parser::ReadBaseUrl(const Entry& entry, std::string* out) {
  std::string text;
  if (!ReadString(entry, &text)) return false;
  creatify::BaseUrl url;
  std::string why = creatify::ParseBaseUrl(text, &url);
  if (why.empty()) {
    *out = url.Normalized();
    return true;
  }
  // A URL with user information may hold a password: do not repeat it.
  std::string shown = text.find('@') == std::string::npos ? " " + Quote(text) : "";
  return Fail(ValueMark(entry), entry.path, "invalid URL" + shown + ": " + why);
}

}  // namespace config
