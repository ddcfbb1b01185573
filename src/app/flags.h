// The exporter's command-line flags, parsed into a value type. ParseFlags and the helpers below
// are pure functions: thread-safe, no I/O, never throw.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "log/log.h"

namespace app {

struct Flags {
  std::string config_file;
  std::string listen_address = ":10487";  // HOST:PORT, [v6]:PORT, or :PORT (all interfaces)
  std::string telemetry_path = "/metrics";
  // --web.config.file: TLS and basic auth (exporter-toolkit's format); empty: neither.
  std::string web_config_file;
  logging::Level log_level = logging::Level::kInfo;
  logging::Format log_format = logging::Format::kLogfmt;
  // --total-shards (1: no sharding) and --shard (unset: from the pod name, see ResolveShard).
  int total_shards = 1;
  std::optional<int> shard;
  // --shard.peer-url: where replica {shard} serves; empty: no forwarding.
  std::string peer_url;
  // --web.health-socket: where the health socket is (not given: the environment's
  // kHealthSocketEnv, see HealthSocketPath).
  std::optional<std::string> health_socket;
  // --web.health-check: ask the exporter on the health socket whether it is healthy, and exit.
  bool health_check = false;
  bool config_check = false;
  bool version = false;
  bool help = false;
};

// The environment variable that gives the health socket's path when --web.health-socket does not
// (the container image sets it).
inline constexpr const char* kHealthSocketEnv = "CREATIFY_EXPORTER_HEALTH_SOCKET";

// The health socket's path: --web.health-socket, else `env_value` (kHealthSocketEnv's value, null
// when unset); empty: no health socket.
std::string HealthSocketPath(const Flags& flags, const char* env_value);

// argv[0] is the program name and is skipped. Flags take their value as --flag=value or
// --flag value; booleans are given as --flag alone (-h is --help). Each flag may be given once.
// Unknown flag, stray argument, missing value, bad level/format, bad address or path, or a
// missing --config.file (unless --version, --help or --web.health-check): nullopt and a one-line
// *error.
std::optional<Flags> ParseFlags(int argc, const char* const* argv, std::string* error);

// The --help text, listing every flag with its default; ends with a newline.
std::string Usage();

// Splits HOST:PORT / [v6]:PORT / :PORT; empty host means 0.0.0.0, and port 0 lets the system
// pick one. The host is returned without brackets. nullopt if malformed.
struct ListenAddress {
  std::string host;
  int port = 0;
};
std::optional<ListenAddress> ParseListenAddress(std::string_view text);

// This replica's shard: --shard when given, else 0 without sharding, else the number at the end
// of `hostname` (a StatefulSet pod is named NAME-I and its HOSTNAME is that name). nullopt and a
// one-line *error when it cannot be told or is out of range.
std::optional<int> ResolveShard(const Flags& flags, std::string_view hostname, std::string* error);

// Why `path` cannot be the telemetry path, or an empty string when it can.
std::string TelemetryPathError(std::string_view path);

}  // namespace app
