#include "simulator/flags.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <functional>
#include <limits>

#include "text/duration.h"

namespace simulator {
namespace {

constexpr int kMaxJobs = 1'000'000;
constexpr std::size_t kHelpIndent = 34;
constexpr std::size_t kHelpWidth = 100;

// Sets a field from the flag's text; returns the reason when the text is not acceptable.
using Setter = std::function<std::optional<std::string>(std::string_view, Flags&)>;

struct FlagSpec {
  std::string_view name;
  // Shown in --help after '='; empty for switches.
  std::string_view placeholder;
  std::string_view default_text;
  std::string_view help;
  Setter set;
};

template <typename Int>
std::optional<Int> ParseInt(std::string_view text) {
  Int value{};
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || text.empty()) return std::nullopt;
  return value;
}

std::optional<double> ParseDouble(std::string_view text) {
  double value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || text.empty() ||
      !std::isfinite(value)) {
    return std::nullopt;
  }
  return value;
}

Setter IntFlag(int Flags::*field, int low, int high) {
  return [=](std::string_view text, Flags& flags) -> std::optional<std::string> {
    auto value = ParseInt<int>(text);
    if (!value || *value < low || *value > high) {
      return "expected an integer from " + std::to_string(low) + " to " + std::to_string(high);
    }
    flags.*field = *value;
    return std::nullopt;
  };
}

std::optional<std::string> SetJobCount(std::string_view kind, std::string_view text, Flags& flags) {
  auto value = ParseInt<int>(text);
  if (!value || *value < 0 || *value > kMaxJobs) {
    return "expected an integer from 0 to " + std::to_string(kMaxJobs);
  }
  flags.model.initial_jobs[std::string(kind)] = *value;
  return std::nullopt;
}

Setter JobCount(std::string_view kind) {
  return [=](std::string_view text, Flags& flags) { return SetJobCount(kind, text, flags); };
}

Setter MaxJobs() {
  return [](std::string_view text, Flags& flags) -> std::optional<std::string> {
    auto value = ParseInt<int>(text);
    if (!value || *value < 0 || *value > kMaxJobs) {
      return "expected an integer from 0 to " + std::to_string(kMaxJobs);
    }
    flags.model.max_jobs = *value;
    return std::nullopt;
  };
}

// KIND=VALUE; the kind is checked once every flag is read (a custom kind may come later).
std::optional<std::pair<std::string_view, std::string_view>> SplitKindValue(std::string_view text) {
  std::size_t equals = text.find('=');
  if (equals == std::string_view::npos || equals == 0) return std::nullopt;
  return std::pair{text.substr(0, equals), text.substr(equals + 1)};
}

std::optional<std::string> SetSpawnInterval(std::string_view kind, std::string_view text,
                                            Flags& flags) {
  auto value = ParseDuration(text);
  if (!value) return "expected a duration such as 500ms, 10s or 1m30s";
  flags.model.spawn_interval[std::string(kind)] = *value;
  return std::nullopt;
}

// NAME:PATH:list|single:fraction|percent.
std::optional<std::string> AddCustomKind(std::string_view text, Flags& flags) {
  std::vector<std::string_view> parts;
  for (std::size_t colon; (colon = text.find(':')) != std::string_view::npos;) {
    parts.push_back(text.substr(0, colon));
    text.remove_prefix(colon + 1);
  }
  parts.push_back(text);
  const char* kForm = "expected NAME:PATH:list|single:fraction|percent";
  if (parts.size() != 4 || parts[0].empty() || parts[1].empty()) return kForm;
  KindRow row{.name = std::string(parts[0]),
              .path = parts[1].starts_with('/') ? std::string(parts[1])
                                                : "/api/" + std::string(parts[1]) + "/",
              .shape = Shape::kGeneric,
              .vocabulary = Vocabulary::kCustom};
  if (!row.path.starts_with("/api/") || !row.path.ends_with('/')) {
    return "the path must be a segment or start with /api/ and end with /";
  }
  if (parts[2] != "list" && parts[2] != "single") return kForm;
  row.list = parts[2] == "list";
  if (parts[3] == "fraction") {
    row.progress = ProgressStyle::kRatioNumber;
  } else if (parts[3] == "percent") {
    row.progress = ProgressStyle::kPercentNumber;
  } else {
    return kForm;
  }
  for (const auto& kind : flags.model.kinds) {
    if (kind.name == row.name || kind.path == row.path) return "a kind of that name or path exists";
  }
  flags.model.kinds.push_back(std::move(row));
  return std::nullopt;
}

Setter Probability(double* (*field)(Flags&)) {
  return [=](std::string_view text, Flags& flags) -> std::optional<std::string> {
    auto value = ParseDouble(text);
    if (!value || *value < 0 || *value > 1) return "expected a number from 0 to 1";
    *field(flags) = *value;
    return std::nullopt;
  };
}

Setter DurationFlag(Millis* (*field)(Flags&), Millis minimum) {
  return [=](std::string_view text, Flags& flags) -> std::optional<std::string> {
    auto value = ParseDuration(text);
    if (!value) return "expected a duration such as 500ms, 10s or 1m30s";
    if (*value < minimum) return "must be at least " + text::FormatDuration(minimum);
    *field(flags) = *value;
    return std::nullopt;
  };
}

Setter NonEmpty(std::string* (*field)(Flags&)) {
  return [=](std::string_view text, Flags& flags) -> std::optional<std::string> {
    if (text.empty()) return "must not be empty";
    *field(flags) = std::string(text);
    return std::nullopt;
  };
}

std::optional<std::string> SetListenAddress(std::string_view text, Flags& flags) {
  std::size_t colon = text.rfind(':');
  if (colon == std::string_view::npos) return "expected HOST:PORT";
  std::string_view host = text.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  auto port = ParseInt<int>(text.substr(colon + 1));
  if (!port || *port < 0 || *port > 65535) return "expected a port from 0 to 65535";
  flags.listen_host = host.empty() ? "0.0.0.0" : std::string(host);
  flags.listen_port = *port;
  return std::nullopt;
}

const std::vector<FlagSpec>& Specs() {
  static const std::vector<FlagSpec> kSpecs = {
      {"listen-address", "HOST:PORT", "127.0.0.1:18787",
       "Address to serve the API on; port 0 picks a free port.", SetListenAddress},
      {"api-id", "ID", "demo-id", "The X-API-ID clients must send.",
       NonEmpty([](Flags& f) { return &f.model.api_id; })},
      {"api-key", "KEY", "demo-key", "The X-API-KEY clients must send.",
       NonEmpty([](Flags& f) { return &f.model.api_key; })},
      {"seed", "N", "1", "Seed for job ids, durations, outcomes and faults.",
       [](std::string_view text, Flags& flags) -> std::optional<std::string> {
         auto value = ParseInt<std::uint64_t>(text);
         if (!value) return "expected a non-negative integer";
         flags.model.seed = *value;
         return std::nullopt;
       }},
      {"ads-clone-jobs", "N", "5", "Ad clone jobs created at start.", JobCount("ads_clone")},
      {"custom-template-jobs", "N", "5", "Custom template jobs created at start.",
       JobCount("custom_template")},
      {"aurora-jobs", "N", "5", "Aurora jobs created at start.", JobCount("aurora")},
      {"jobs", "KIND=N", "",
       "Jobs of KIND (its kind label, e.g. lipsync or product_to_video) created at start; "
       "repeat for more kinds. Kinds not named have none, but for the three above (5 each).",
       [](std::string_view text, Flags& flags) -> std::optional<std::string> {
         auto pair = SplitKindValue(text);
         if (!pair) return "expected KIND=N";
         return SetJobCount(pair->first, pair->second, flags);
       }},
      {"spawn-interval", "KIND=DURATION", "",
       "Create a new job of KIND this often (0 never); repeat for more kinds.",
       [](std::string_view text, Flags& flags) -> std::optional<std::string> {
         auto pair = SplitKindValue(text);
         if (!pair) return "expected KIND=DURATION";
         return SetSpawnInterval(pair->first, pair->second, flags);
       }},
      {"aurora-spawn-interval", "DURATION", "0", "Same as --spawn-interval=aurora=DURATION.",
       [](std::string_view text, Flags& flags) { return SetSpawnInterval("aurora", text, flags); }},
      {"max-jobs", "N", "1000", "Stop creating jobs of a kind at this many.", MaxJobs()},
      {"max-aurora-jobs", "N", "1000", "Same as --max-jobs.", MaxJobs()},
      {"custom-kind", "NAME:PATH:list|single:fraction|percent", "",
       "Also serve a kind the exporter does not know, at /api/PATH/ (or a full /api/.../ path), "
       "with the words created, waiting, processing, error, completed and refused for pending, "
       "in_queue, running, failed, done and rejected, and a progress number on that scale; "
       "repeat for more kinds.",
       AddCustomKind},
      {"stage-duration", "DURATION", "10s",
       "Mean time a job spends pending, in_queue and running (each times 0.5 to 1.5).",
       DurationFlag([](Flags& f) { return &f.model.job.stage_duration; }, Millis(0))},
      {"failure-ratio", "P", "0.15", "Share of jobs that end failed.",
       Probability([](Flags& f) { return &f.model.job.failure_ratio; })},
      {"rejection-ratio", "P", "0.05", "Share of jobs that end rejected.",
       Probability([](Flags& f) { return &f.model.job.rejection_ratio; })},
      {"initial-credits", "X", "10000", "Credits at start; each job that reaches done uses some.",
       [](std::string_view text, Flags& flags) -> std::optional<std::string> {
         auto value = ParseDouble(text);
         if (!value) return "expected a number";
         flags.model.initial_credits = *value;
         return std::nullopt;
       }},
      {"hold", "", "false", "Keep every job pending until POST /sim/release.",
       [](std::string_view text, Flags& flags) -> std::optional<std::string> {
         if (text == "true") {
           flags.model.hold = true;
         } else if (text == "false") {
           flags.model.hold = false;
         } else {
           return "expected true or false";
         }
         return std::nullopt;
       }},
      {"fault-429", "P", "0", "Probability of a 429 with Retry-After per API request.",
       Probability([](Flags& f) { return &f.model.fault_429; })},
      {"fault-5xx", "P", "0", "Probability of a 500, 502 or 503 with an HTML body.",
       Probability([](Flags& f) { return &f.model.fault_5xx; })},
      {"fault-malformed", "P", "0",
       "Probability of a 200 with HTML, truncated JSON, bad list items or a wrong-typed field.",
       Probability([](Flags& f) { return &f.model.fault_malformed; })},
      {"retry-after", "SECONDS", "1", "Retry-After of the 429 fault.",
       [](std::string_view text, Flags& flags) -> std::optional<std::string> {
         auto value = ParseInt<int>(text);
         if (!value || *value < 0 || *value > 86400) {
           return "expected an integer from 0 to 86400";
         }
         flags.model.retry_after_seconds = *value;
         return std::nullopt;
       }},
      {"tls-cert-file", "PATH", "",
       "Serve HTTPS with this PEM certificate (chain); needs --tls-key-file.",
       NonEmpty([](Flags& f) { return &f.tls_cert_file; })},
      {"tls-key-file", "PATH", "", "The PEM private key of --tls-cert-file.",
       NonEmpty([](Flags& f) { return &f.tls_key_file; })},
      {"webhook-url", "URL", "",
       "Call this URL when a job finishes, like a job's webhook_url; {kind} becomes the job's "
       "kind, e.g. http://127.0.0.1:10487/webhook/{kind}/TOKEN.",
       [](std::string_view text, Flags& flags) -> std::optional<std::string> {
         std::string origin;
         std::string path;
         if (!SplitHttpUrl(std::string(text), &origin, &path)) return "expected an http:// URL";
         flags.webhooks.url = std::string(text);
         return std::nullopt;
       }},
      {"webhook-kinds", "KINDS", "",
       "The kinds whose jobs have the webhook_url, comma-separated (empty: every kind).",
       [](std::string_view text, Flags& flags) -> std::optional<std::string> {
         flags.webhooks.kinds.clear();
         while (!text.empty()) {
           const size_t comma = text.find(',');
           std::string_view name = text.substr(0, comma);
           if (name.empty()) return "expected kind labels separated by commas";
           flags.webhooks.kinds.emplace(name);
           text = comma == std::string_view::npos ? std::string_view() : text.substr(comma + 1);
         }
         return std::nullopt;
       }},
      {"webhook-delay", "DURATION", "0", "Time between a job's end and its webhook call.",
       DurationFlag([](Flags& f) { return &f.webhooks.delay; }, Millis(0))},
      {"webhook-calls", "N", "1", "Webhook calls per finished job (more than 1: duplicates).",
       [](std::string_view text, Flags& flags) -> std::optional<std::string> {
         auto value = ParseInt<int>(text);
         if (!value || *value < 1 || *value > 10) return "expected an integer from 1 to 10";
         flags.webhooks.calls = *value;
         return std::nullopt;
       }},
      {"exporter-webhook-token", "TOKEN", "", "webhook.token of the written config.",
       NonEmpty([](Flags& f) { return &f.exporter_webhook_token; })},
      {"latency", "DURATION", "0", "Delay added to every API response.",
       DurationFlag([](Flags& f) { return &f.latency; }, Millis(0))},
      {"write-exporter-config", "PATH", "",
       "After binding, write an exporter config pointing at this simulator.",
       NonEmpty([](Flags& f) { return &f.exporter_config_path; })},
      {"exporter-poll-interval", "DURATION", "5s", "poll_interval of the written config.",
       DurationFlag([](Flags& f) { return &f.exporter_poll_interval; }, Millis(100))},
      {"exporter-base-url", "URL", "http://127.0.0.1:<port>",
       "api.base_url of the written config (e.g. http://simulator:18787 in a compose network).",
       [](std::string_view text, Flags& flags) -> std::optional<std::string> {
         if (!text.starts_with("http://") && !text.starts_with("https://")) {
           return "expected an http:// or https:// URL";
         }
         while (text.ends_with('/')) text.remove_suffix(1);
         flags.exporter_base_url = std::string(text);
         return std::nullopt;
       }},
      {"exporter-state-path", "PATH", "",
       "state.path of the written config, e.g. /var/lib/creatify-exporter/state.db (\"\" keeps no "
       "state). When not given, the key is left out and the exporter's default applies.",
       [](std::string_view text, Flags& flags) -> std::optional<std::string> {
         for (char c : text) {
           if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
             return "must not contain control characters";
           }
         }
         flags.exporter_state_path = std::string(text);
         return std::nullopt;
       }},
      {"threads", "N", "64", "Threads serving requests (one per open connection).",
       IntFlag(&Flags::threads, 1, 1024)},
      {"log-level", "LEVEL", "info", "debug, info, warn or error.",
       [](std::string_view text, Flags& flags) -> std::optional<std::string> {
         auto level = logging::ParseLevel(text);
         if (!level) return "expected debug, info, warn or error";
         flags.log_level = *level;
         return std::nullopt;
       }},
      {"log-format", "FORMAT", "logfmt", "logfmt or json.",
       [](std::string_view text, Flags& flags) -> std::optional<std::string> {
         auto format = logging::ParseFormat(text);
         if (!format) return "expected logfmt or json";
         flags.log_format = *format;
         return std::nullopt;
       }},
      {"version", "", "", "Print the version and exit.",
       [](std::string_view, Flags& flags) -> std::optional<std::string> {
         flags.version = true;
         return std::nullopt;
       }},
      {"help", "", "", "Print this help and exit.",
       [](std::string_view, Flags& flags) -> std::optional<std::string> {
         flags.help = true;
         return std::nullopt;
       }},
  };
  return kSpecs;
}

const FlagSpec* FindSpec(std::string_view name) {
  for (const auto& spec : Specs()) {
    if (spec.name == name) return &spec;
  }
  return nullptr;
}

}  // namespace

std::optional<Millis> ParseDuration(std::string_view text) {
  // Prometheus reads a bare "0" too; the simulator's flags take it for "off".
  if (text == "0") return Millis(0);
  return text::ParseDuration(text);
}

std::string DefaultBaseUrl(std::string_view host, int port) {
  std::string reachable(host);
  if (host.empty() || host == "0.0.0.0") reachable = "127.0.0.1";
  if (host == "::") reachable = "::1";
  if (reachable.find(':') != std::string::npos) reachable = "[" + reachable + "]";
  return "http://" + reachable + ":" + std::to_string(port);
}

std::optional<Flags> ParseFlags(const std::vector<std::string>& args, std::string* error) {
  Flags flags;
  for (std::size_t i = 0; i < args.size(); ++i) {
    std::string_view arg = args[i];
    if (arg == "-h") arg = "--help";
    if (!arg.starts_with("--") || arg.size() == 2) {
      *error = "unexpected argument \"" + std::string(arg) + "\" (flags start with --; see --help)";
      return std::nullopt;
    }
    arg.remove_prefix(2);
    std::size_t equals = arg.find('=');
    std::string_view name = arg.substr(0, equals);
    const FlagSpec* spec = FindSpec(name);
    if (spec == nullptr) {
      *error = "unknown flag --" + std::string(name) + " (see --help)";
      return std::nullopt;
    }
    std::string value;
    bool is_switch = spec->placeholder.empty();
    if (equals != std::string_view::npos) {
      value = std::string(arg.substr(equals + 1));
    } else if (is_switch) {
      value = "true";
    } else if (i + 1 < args.size()) {
      value = args[++i];
    } else {
      *error = "flag --" + std::string(name) + " needs a value (--" + std::string(name) + "=" +
               std::string(spec->placeholder) + ")";
      return std::nullopt;
    }
    if (auto why = spec->set(value, flags)) {
      *error = "invalid value \"" + value + "\" for --" + std::string(name) + ": " + *why;
      return std::nullopt;
    }
  }
  const Options& model = flags.model;
  for (const auto& [kind, count] : model.initial_jobs) {
    if (!FindKind(model.kinds, kind)) {
      *error = "invalid value \"";
      error->append(kind).append("=").append(std::to_string(count));
      error->append("\" for --jobs: unknown kind ").append(kind);
      return std::nullopt;
    }
  }
  for (const auto& [kind, interval] : model.spawn_interval) {
    if (!FindKind(model.kinds, kind)) {
      *error = "invalid value \"";
      error->append(kind).append("=").append(text::FormatDuration(interval));
      error->append("\" for --spawn-interval: unknown kind ").append(kind);
      return std::nullopt;
    }
  }
  if (model.job.failure_ratio + model.job.rejection_ratio > 1.0 + 1e-9) {
    *error = "--failure-ratio plus --rejection-ratio must be at most 1";
    return std::nullopt;
  }
  if (flags.tls_cert_file.empty() != flags.tls_key_file.empty()) {
    *error = "--tls-cert-file and --tls-key-file go together";
    return std::nullopt;
  }
  if (model.fault_429 + model.fault_5xx + model.fault_malformed > 1.0 + 1e-9) {
    *error = "--fault-429 plus --fault-5xx plus --fault-malformed must be at most 1";
    return std::nullopt;
  }
  return flags;
}

std::string HelpText() {
  std::string text =
      "Usage: creatify-simulator [flags]\n\n"
      "A fake Creatify API: serves every job kind (ads_clone, custom_template_jobs, aurora,\n"
      "lipsyncs, lipsyncs_v2, ai_shorts, ai_editing, link_to_videos, text_to_speech,\n"
      "product_to_videos, and any --custom-kind) and remaining_credits, with jobs that move\n"
      "pending -> in_queue -> running -> done, failed or rejected over time (each kind in its\n"
      "own words), optional faults, and its ground truth at GET /sim/state.\n"
      "POST /sim/fault?mode=... switches a fault on for every later API request until the next\n"
      "one (mode=none ends it): status (&status=N[&retry_after=S]), body (the POST's body,\n"
      "&status, &content_type), hang ([&delay_ms=N]), reset, truncate, endless, oversize;\n"
      "&path=P limits it to paths containing P. GET /sim/fault shows it and its hits.\n\n"
      "Flags (--name=value or --name value):\n";
  for (const auto& spec : Specs()) {
    std::string left = "  --" + std::string(spec.name);
    if (!spec.placeholder.empty()) left += "=" + std::string(spec.placeholder);
    // The description in a column of its own, wrapped at 100 like the rest of the project's text;
    // "(default X)" is kept on one line.
    std::vector<std::string> words;
    std::string_view help = spec.help;
    while (!help.empty()) {
      std::size_t space = std::min(help.find(' '), help.size());
      words.emplace_back(help.substr(0, space));
      help.remove_prefix(std::min(space + 1, help.size()));
    }
    if (!spec.default_text.empty())
      words.push_back("(default " + std::string(spec.default_text) + ")");
    std::vector<std::string> lines(1);
    for (const auto& word : words) {
      if (!lines.back().empty() &&
          lines.back().size() + 1 + word.size() > kHelpWidth - kHelpIndent) {
        lines.emplace_back();
      }
      if (!lines.back().empty()) lines.back() += ' ';
      lines.back() += word;
    }
    std::string indent(kHelpIndent, ' ');
    text += left;
    if (left.size() < kHelpIndent) {
      text.append(kHelpIndent - left.size(), ' ');
    } else {
      text.append("\n").append(indent);
    }
    for (std::size_t i = 0; i < lines.size(); ++i) {
      if (i > 0) text.append("\n").append(indent);
      text += lines[i];
    }
    text += "\n";
  }
  return text;
}

bool SplitHttpUrl(const std::string& url, std::string* origin, std::string* path) {
  constexpr std::string_view kScheme = "http://";
  if (url.rfind(kScheme, 0) != 0) return false;
  const size_t slash = url.find('/', kScheme.size());
  *origin = url.substr(0, slash);
  *path = slash == std::string::npos ? "/" : url.substr(slash);
  return origin->size() > kScheme.size();
}

}  // namespace simulator
