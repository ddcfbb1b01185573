#include "app/flags.h"

#include <set>
#include <vector>

namespace app {
namespace {

enum class Id {
  kHelp,
  kVersion,
  kConfigFile,
  kConfigCheck,
  kListen,
  kPath,
  kWebConfig,
  kHealthSocket,
  kHealthCheck,
  kLevel,
  kFormat,
  kShard,
  kTotalShards,
  kPeerUrl
};

// The most replicas a workspace's jobs may be split over.
constexpr int kMaxShards = 1000;

struct FlagSpec {
  Id id;
  std::string_view name;  // without the leading "--"
  // The value's placeholder in the usage text; empty for a boolean flag.
  std::string_view placeholder;
  std::string_view help;
};

// In the order of the usage text.
const std::vector<FlagSpec>& Specs() {
  static const std::vector<FlagSpec> kSpecs = {
      {Id::kHelp, "help", "", "Show this help and exit."},
      {Id::kVersion, "version", "", "Print the version and exit."},
      {Id::kConfigFile, "config.file", "PATH",
       "The YAML configuration file. Required unless --help or --version is given."},
      {Id::kConfigCheck, "config.check", "",
       "Check the configuration file and the credentials, then exit (0: valid)."},
      {Id::kListen, "web.listen-address", "HOST:PORT",
       "Where to listen: HOST:PORT, [IPv6]:PORT, or :PORT for every interface."},
      {Id::kPath, "web.telemetry-path", "PATH",
       "The path of the metrics endpoint (not /, /-/healthy or /-/ready)."},
      {Id::kWebConfig, "web.config.file", "PATH",
       "TLS and basic auth, in exporter-toolkit's web config format."},
      {Id::kHealthSocket, "web.health-socket", "PATH",
       "Also serve /-/healthy and /-/ready on this Unix socket, in plain HTTP\n"
       "      without auth (default: $CREATIFY_EXPORTER_HEALTH_SOCKET; unset: none)."},
      {Id::kHealthCheck, "web.health-check", "",
       "Check /-/healthy over the health socket, then exit (0: healthy)."},
      {Id::kLevel, "log.level", "LEVEL",
       "Log only this level and above: debug, info, warn or error."},
      {Id::kFormat, "log.format", "FORMAT", "Log line format: logfmt or json."},
      {Id::kTotalShards, "total-shards", "N",
       "Split the jobs over N replicas by a hash of their ids."},
      {Id::kShard, "shard", "I",
       "This replica's shard, 0 to N-1 (default: from a pod name ending in -I)."},
      {Id::kPeerUrl, "shard.peer-url", "URL",
       "Replica {shard}'s URL: webhooks for its jobs are handed to it."},
  };
  return kSpecs;
}

// The default shown in the usage text, taken from Flags{} so that the two cannot drift apart.
std::string DefaultText(Id id) {
  const Flags defaults;
  switch (id) {
    case Id::kListen:
      return defaults.listen_address;
    case Id::kPath:
      return defaults.telemetry_path;
    case Id::kLevel:
      return std::string(logging::LevelName(defaults.log_level));
    case Id::kFormat:
      return std::string(logging::FormatName(defaults.log_format));
    case Id::kTotalShards:
      return std::to_string(defaults.total_shards);
    default:
      return "";
  }
}

bool IsDigits(std::string_view s) {
  return !s.empty() && s.find_first_not_of("0123456789") == std::string_view::npos;
}

bool IsHostChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '.' || c == '_';
}

// Applies one value flag; returns the error, or an empty string.
std::string Apply(Id id, const std::string& value, Flags* flags) {
  switch (id) {
    case Id::kConfigFile:
      flags->config_file = value;
      return "";
    case Id::kWebConfig:
      flags->web_config_file = value;
      return "";
    case Id::kHealthSocket:
      flags->health_socket = value;
      return "";
    case Id::kListen:
      if (!ParseListenAddress(value)) {
        return "--web.listen-address: invalid address \"" + value +
               "\" (expected HOST:PORT, [IPv6]:PORT or :PORT)";
      }
      flags->listen_address = value;
      return "";
    case Id::kPath:
      if (std::string why = TelemetryPathError(value); !why.empty()) {
        return "--web.telemetry-path: " + why;
      }
      flags->telemetry_path = value;
      return "";
    case Id::kLevel:
      if (auto level = logging::ParseLevel(value)) {
        flags->log_level = *level;
        return "";
      }
      return "--log.level: invalid value \"" + value + "\" (expected debug, info, warn or error)";
    case Id::kFormat:
      if (auto format = logging::ParseFormat(value)) {
        flags->log_format = *format;
        return "";
      }
      return "--log.format: invalid value \"" + value + "\" (expected logfmt or json)";
    case Id::kShard:
    case Id::kTotalShards: {
      const bool total = id == Id::kTotalShards;
      if (!IsDigits(value) || value.size() > 4 ||
          std::stoi(value) > (total ? kMaxShards : kMaxShards - 1) ||
          (total && std::stoi(value) == 0)) {
        return std::string(total ? "--total-shards: invalid value \""
                                 : "--shard: invalid value \"") +
               value + (total ? "\" (expected 1 to 1000)" : "\" (expected 0 to 999)");
      }
      if (total) {
        flags->total_shards = std::stoi(value);
      } else {
        flags->shard = std::stoi(value);
      }
      return "";
    }
    case Id::kPeerUrl:
      if (value.rfind("http://", 0) != 0 && value.rfind("https://", 0) != 0) {
        return "--shard.peer-url: invalid value \"" + value +
               "\" (expected an http:// or https:// URL)";
      }
      if (value.find("{shard}") == std::string::npos) {
        return "--shard.peer-url: \"" + value + "\" has no {shard} in it";
      }
      flags->peer_url = value;
      return "";
    default:
      return "";
  }
}

}  // namespace

std::optional<ListenAddress> ParseListenAddress(std::string_view text) {
  std::string_view host;
  std::string_view port;
  if (!text.empty() && text[0] == '[') {
    auto close = text.find(']');
    if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':') {
      return std::nullopt;
    }
    host = text.substr(1, close - 1);
    port = text.substr(close + 2);
    // Hex digits, colons, dots (an embedded IPv4 address) and a %zone suffix.
    if (host.empty() || host.find(':') == std::string_view::npos) return std::nullopt;
    for (char c : host) {
      if (!IsHostChar(c) && c != ':' && c != '%') return std::nullopt;
    }
  } else {
    auto colon = text.rfind(':');
    if (colon == std::string_view::npos) return std::nullopt;
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
    for (char c : host) {
      if (!IsHostChar(c)) return std::nullopt;
    }
  }
  if (!IsDigits(port) || port.size() > 5) return std::nullopt;
  int number = std::stoi(std::string(port));
  if (number > 65535) return std::nullopt;
  return ListenAddress{host.empty() ? "0.0.0.0" : std::string(host), number};
}

std::optional<int> ResolveShard(const Flags& flags, std::string_view hostname, std::string* error) {
  if (flags.shard) return flags.shard;
  if (flags.total_shards <= 1) return 0;
  const size_t dash = hostname.rfind('-');
  const std::string_view number =
      dash == std::string_view::npos ? std::string_view() : hostname.substr(dash + 1);
  if (!IsDigits(number) || number.size() > 4) {
    *error = "--total-shards=" + std::to_string(flags.total_shards) +
             " without --shard needs a pod name ending in -I (HOSTNAME is \"" +
             std::string(hostname) + "\")";
    return std::nullopt;
  }
  const int shard = std::stoi(std::string(number));
  if (shard >= flags.total_shards) {
    *error = "the pod name \"" + std::string(hostname) + "\" gives shard " + std::to_string(shard) +
             ", not below --total-shards=" + std::to_string(flags.total_shards);
    return std::nullopt;
  }
  return shard;
}

std::string HealthSocketPath(const Flags& flags, const char* env_value) {
  if (flags.health_socket) return *flags.health_socket;
  return env_value != nullptr ? env_value : "";
}

std::string TelemetryPathError(std::string_view path) {
  // Appended rather than "\"" + std::string(path): GCC 12 warns (-Wrestrict) about the inlined
  // insert of operator+(const char*, std::string&&), falsely.
  std::string quoted = std::string("\"").append(path).append("\"");
  if (path.empty() || path[0] != '/') return "must start with \"/\", got " + quoted;
  if (path == "/") return "\"/\" is the landing page";
  if (path == "/-/healthy") return "\"/-/healthy\" is the health endpoint";
  if (path == "/-/ready") return "\"/-/ready\" is the readiness endpoint";
  for (char c : path) {
    bool ok = IsHostChar(c) || c == '/' || c == '~';
    if (!ok) return quoted + " may hold only letters, digits and / . _ ~ -";
  }
  return "";
}

std::optional<Flags> ParseFlags(int argc, const char* const* argv, std::string* error) {
  std::string ignored;
  if (error == nullptr) error = &ignored;
  Flags flags;
  std::set<Id> seen;
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    if (arg == "-h") arg = "--help";
    if (arg.substr(0, 2) != "--" || arg == "--") {
      *error = "unexpected argument \"" + std::string(arg) + "\" (flags start with --)";
      return std::nullopt;
    }
    std::string_view name = arg.substr(2);
    std::optional<std::string> value;
    if (auto eq = name.find('='); eq != std::string_view::npos) {
      value = std::string(name.substr(eq + 1));
      name = name.substr(0, eq);
    }
    const FlagSpec* spec = nullptr;
    for (const auto& s : Specs()) {
      if (s.name == name) spec = &s;
    }
    if (spec == nullptr) {
      *error = "unknown flag --" + std::string(name) + " (see --help)";
      return std::nullopt;
    }
    std::string flag = "--" + std::string(spec->name);
    if (!seen.insert(spec->id).second) {
      *error = "flag " + flag + " given more than once";
      return std::nullopt;
    }
    if (spec->placeholder.empty()) {
      if (value) {
        *error = "flag " + flag + " takes no value";
        return std::nullopt;
      }
      if (spec->id == Id::kHelp) flags.help = true;
      if (spec->id == Id::kVersion) flags.version = true;
      if (spec->id == Id::kConfigCheck) flags.config_check = true;
      if (spec->id == Id::kHealthCheck) flags.health_check = true;
      continue;
    }
    if (!value) {
      // A following flag is not taken as the value: `--config.file --version` is a mistake.
      if (i + 1 >= argc || std::string_view(argv[i + 1]).substr(0, 2) == "--") {
        *error = "flag " + flag + " needs a value";
        return std::nullopt;
      }
      value = argv[++i];
    }
    if (value->empty()) {
      *error = "flag " + flag + " needs a value";
      return std::nullopt;
    }
    if (std::string why = Apply(spec->id, *value, &flags); !why.empty()) {
      *error = why;
      return std::nullopt;
    }
  }
  if (flags.shard && *flags.shard >= flags.total_shards) {
    *error = "--shard=" + std::to_string(*flags.shard) +
             " is not below --total-shards=" + std::to_string(flags.total_shards);
    return std::nullopt;
  }
  if (flags.config_file.empty() && !flags.help && !flags.version && !flags.health_check) {
    *error = "missing required flag --config.file (see --help)";
    return std::nullopt;
  }
  return flags;
}

std::string Usage() {
  std::string out =
      "usage: creatify-exporter --config.file=PATH [flags]\n"
      "\n"
      "Exports the state of Creatify video jobs and the workspace's remaining credits\n"
      "as Prometheus metrics.\n"
      "\n"
      "Flags:\n";
  for (const auto& spec : Specs()) {
    out += "  ";
    if (spec.id == Id::kHelp) out += "-h, ";
    out += "--";
    out += spec.name;
    if (!spec.placeholder.empty()) {
      out += "=";
      out += spec.placeholder;
      if (std::string def = DefaultText(spec.id); !def.empty()) out += " (default \"" + def + "\")";
    }
    out += "\n      ";
    out += spec.help;
    out += "\n";
  }
  out +=
      "\n"
      "Environment:\n"
      "  CREATIFY_API_ID, CREATIFY_API_KEY\n"
      "      The API credentials, unless the configuration file names files for them\n"
      "      (api.api_id_file, api.api_key_file).\n"
      "  CREATIFY_EXPORTER_HEALTH_SOCKET\n"
      "      The health socket's path, unless --web.health-socket gives it.\n";
  return out;
}

}  // namespace app
